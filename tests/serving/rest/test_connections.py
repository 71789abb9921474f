"""The HTTP server's connections, against a real ``modelship serve`` process: requests in
flight or queued at SIGTERM are answered, slow clients time out, connections are capped, and a
worker killed under load costs (almost) nothing."""

from __future__ import annotations

import shutil
import signal
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import RunningServer, ToyModel, start_server, stop_server
from tests.fixtures.toy_models import slow_identity, write_version

BODY = b'{"instances": [[' + b",".join([b"0.5"] * 784) + b"]]}"


@pytest.fixture(scope="module")
def slow_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model that takes a few milliseconds, so requests are in flight at any moment."""
    base = tmp_path_factory.mktemp("repo") / "slow"
    write_version(base, 1, slow_identity(depth=10))
    return base


class Load:
    """Client threads posting predict requests until stopped; half on keep-alive connections,
    half on a new connection each. Records (start time, result) per request."""

    def __init__(self, url: str, threads: int = 8) -> None:
        self.url = f"{url}/v1/models/slow:predict"
        self.results: list[tuple[float, int | str]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(i % 2 == 0,), daemon=True)
            for i in range(threads)
        ]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _run(self, keep_alive: bool) -> None:
        headers = {} if keep_alive else {"connection": "close"}
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                started = time.monotonic()
                result: int | str
                try:
                    result = client.post(self.url, content=BODY, headers=headers).status_code
                except httpx.ConnectError:
                    result = "refused"  # nothing sent: a client or balancer retries safely
                    time.sleep(0.01)
                except httpx.HTTPError as exc:
                    result = type(exc).__name__  # sent, and lost
                with self._lock:
                    self.results.append((started, result))

    def wait_for(self, answers: int, timeout: float = 60) -> None:
        """Until ``answers`` requests have been answered OK (the machine may be slow)."""
        deadline = time.monotonic() + timeout
        while self.counts()[200] < answers and time.monotonic() < deadline:
            time.sleep(0.05)

    def counts(self, since: float = 0.0) -> Counter[int | str]:
        with self._lock:
            return Counter(result for started, result in self.results if started >= since)


def sigterm_under_load(
    server: RunningServer,
) -> tuple[Counter[int | str], Counter[int | str]]:
    """SIGTERM to ``server`` while 16 client threads post predicts; every result, and those of
    requests started after the signal. The server is stopped either way."""
    try:
        with Load(server.url, threads=16) as load:
            load.wait_for(30)
            stopped = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(30) == 0
            time.sleep(0.2)
        return load.counts(), load.counts(since=stopped)
    finally:
        stop_server(server)


def test_sigterm_under_load_answers_every_request_received(
    slow_model: Path, tmp_path: Path
) -> None:
    server = start_server(
        ["--model_name", "slow", "--model_base_path", str(slow_model)], "slow", tmp_path
    )
    before, after = sigterm_under_load(server)
    lost = {k: v for k, v in before.items() if k not in (200, "refused")}
    assert not lost, (before, after)
    assert before[200] >= 30
    # Requests sent after the signal, until the socket closed, were answered too.
    assert after[200] > 0, after
    assert "Traceback" not in server.output()


@pytest.fixture(scope="module")
def guarded_server(
    slow_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    args = ["--model_name", "slow", "--model_base_path", str(slow_model)]
    args += ["--rest_request_read_timeout_seconds", "1", "--rest_max_connections", "20"]
    server = start_server(args, "slow", tmp_path_factory.mktemp("guarded"))
    yield server
    stop_server(server)


def _connect(server: RunningServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def _answer(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_slow_clients_time_out_and_connections_are_capped(guarded_server: RunningServer) -> None:
    slow = [_connect(guarded_server) for _ in range(15)]
    for sock in slow:  # a slowloris: headers begun, never finished
        sock.sendall(b"POST /v1/models/slow:predict HTTP/1.1\r\nhost: x\r\n")
    extra = [_connect(guarded_server) for _ in range(10)]
    time.sleep(0.2)
    refused = [_answer(sock) for sock in extra[5:]]  # past 20 open connections
    assert all(answer.startswith(b"HTTP/1.1 503") for answer in refused), refused
    for sock in extra:
        sock.close()
    time.sleep(0.2)
    # Under the cap again: others are served while the slow clients hold their connections.
    assert httpx.post(f"{guarded_server.url}/v1/models/slow:predict", content=BODY).is_success
    answers = [_answer(sock) for sock in slow]  # closed after the 1 s read timeout
    assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers[:2]
    for sock in slow:
        sock.close()
    huge = _connect(guarded_server)
    huge.sendall(b"GET /v1/models/slow HTTP/1.1\r\n" + b"x-filler: " + b"a" * 100_000)
    assert _answer(huge).startswith(b"HTTP/1.1 431")
    huge.close()
    assert httpx.get(f"{guarded_server.url}/v1/models/slow").is_success


def test_a_worker_killed_under_load_costs_under_half_a_percent(
    toy_model: ToyModel, tmp_path: Path
) -> None:
    # A fast model: what a kill loses is the few requests in flight on that worker.
    base = tmp_path / "repo" / "slow"
    shutil.copytree(toy_model.base_path, base)
    args = ["--model_name", "slow", "--model_base_path", str(base), "--workers", "2"]
    server = start_server(args, "slow", tmp_path)
    try:
        supervisor = psutil.Process(server.process.pid)

        def workers() -> list[psutil.Process]:
            children = supervisor.children()
            return [
                p
                for p in children
                if p.status() != "zombie" and "spawn_main" in " ".join(p.cmdline())
            ]

        with Load(server.url, threads=4) as load:
            load.wait_for(500)
            killed = workers()[0]
            killed.kill()
            load.wait_for(2000)
        replaced = time.monotonic() + 30
        while killed.pid in [w.pid for w in workers()] or len(workers()) < 2:
            assert time.monotonic() < replaced, "the killed worker was not replaced"
            time.sleep(0.1)
        counts = load.counts()
    finally:
        stop_server(server)
    total = sum(counts.values())
    failed = total - counts[200]
    assert total >= 2000, counts
    assert failed / total < 0.005, counts
