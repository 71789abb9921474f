"""Several worker processes on one port: crash replacement, draining on SIGTERM, shared metrics."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import BIN, RunningServer, start_server, stop_server
from tests.fixtures.toy_models import slow_identity, write_version


def _workers(server: RunningServer) -> set[int]:
    pid = server.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    # The spawn start method also runs a resource tracker; workers are the ones serving.
    return {int(c) for c in children if "multiprocessing.spawn" in _cmdline(int(c))}


def _listening(server: RunningServer) -> int:
    """How many workers have started serving (each logs its address once it listens)."""
    return server.output().count("REST API at")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("repo") / "slow"
    write_version(base, 1, slow_identity())
    return base


@pytest.fixture(scope="module")
def two_workers(
    slow_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("workers")
    server = start_server(
        ["--model_name", "slow", "--model_base_path", str(slow_model), "--workers", "2"],
        "slow",
        tmp,
    )
    _wait_for(lambda: _listening(server) == 2)
    yield server
    stop_server(server)


def _predict(url: str, rows: int = 1, seed: int = 0) -> None:
    x = np.random.default_rng(seed).random((rows, 784), dtype=np.float32)
    answer = httpx.post(f"{url}/v1/models/slow:predict", json={"instances": x.tolist()}, timeout=60)
    assert answer.status_code == 200, answer.text
    np.testing.assert_allclose(np.asarray(answer.json()["predictions"]), x, rtol=1e-5)


def test_a_killed_worker_is_replaced_and_requests_keep_succeeding(
    two_workers: RunningServer,
) -> None:
    before = _workers(two_workers)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    # Connections already queued on the victim's socket die with it (as with any crash); wait
    # until it is gone, then every new connection must reach a live worker.
    _wait_for(lambda: victim not in _workers(two_workers))
    for i in range(10):  # the surviving worker answers while the replacement loads
        _predict(two_workers.url, seed=i)
    _wait_for(lambda: _listening(two_workers) == 3)
    assert len(_workers(two_workers)) == 2
    assert victim not in _workers(two_workers)
    assert "died with exit code -9" in two_workers.output()
    assert two_workers.process.poll() is None


def test_metrics_cover_every_worker(two_workers: RunningServer) -> None:
    for i in range(6):
        _predict(two_workers.url, seed=i)
    total = 0.0
    for _ in range(3):  # whichever worker answers the scrape reports every worker's requests
        scrape = httpx.get(f"{two_workers.url}/metrics", timeout=5).text
        lines = [
            line
            for line in scrape.splitlines()
            if line.startswith("modelship_requests_total") and 'status="OK"' in line
        ]
        assert lines, scrape
        total = float(lines[0].rsplit(" ", 1)[1])
        assert total >= 6
    assert 'modelship_model_state{model="slow",state="AVAILABLE",version="1"} 1.0' in scrape


def test_workers_that_cannot_load_make_serve_exit_non_zero(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(BIN / "modelship"), "serve",
            "--model_name", "none",
            "--model_base_path", str(tmp_path / "empty"),
            "--rest_api_port", "0",
            "--rest_api_host", "127.0.0.1",
            "--workers", "2",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "cannot load the models" in result.stderr


def test_sigterm_drains_in_flight_requests_and_exits_zero(two_workers: RunningServer) -> None:
    # Last in this module: it stops the shared server.
    host, port = two_workers.url.removeprefix("http://").split(":")
    rng = np.random.default_rng(3)
    sent = []
    for _ in range(6):
        x = rng.random((48, 784), dtype=np.float32)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        body = json.dumps({"instances": x.tolist()})
        conn.request("POST", "/v1/models/slow:predict", body, {"Content-Type": "application/json"})
        sent.append((conn, x))  # the request is on the wire; its answer takes seconds
    time.sleep(1.0)
    two_workers.process.send_signal(signal.SIGTERM)
    for conn, x in sent:
        answer = conn.getresponse()
        assert answer.status == 200
        got = np.asarray(json.loads(answer.read())["predictions"])
        np.testing.assert_allclose(got, x, rtol=1e-5)
        conn.close()
    assert two_workers.process.wait(timeout=60) == 0
