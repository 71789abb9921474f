"""The watcher against a real ``modelship serve`` process under steady client load."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.toy_models import softmax_linear, two_in_two_out, write_version
from tests.lifecycle.load import SteadyLoad, publish, publish_corrupt

POLL = "0.2"
BODY = orjson.dumps({"instances": [[0.5] * 784]})


def status(server: RunningServer, model: str) -> dict[str, dict[str, object]]:
    answer = httpx.get(f"{server.url}/v1/models/{model}", timeout=5)
    assert answer.status_code == 200, answer.text
    return {v["version"]: v for v in answer.json()["model_version_status"]}


def wait_until(predicate: object, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("lifecycle") / "toy"
    write_version(base, 1, softmax_linear(784, 10, seed=1)[0])
    return base


@pytest.fixture(scope="module")
def server(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        [
            "--model_name",
            "toy",
            "--model_base_path",
            str(repo),
            "--file_system_poll_wait_seconds",
            POLL,
            # One process: every request sees the same registry, so "switched" is exact.
            "--workers",
            "1",
        ],
        "toy",
        tmp_path_factory.mktemp("server"),
    )
    yield running
    stop_server(running)


def test_new_version_takes_over_without_a_failed_request(server: RunningServer, repo: Path) -> None:
    load = SteadyLoad(f"{server.url}/v1/models/toy:predict", BODY)
    load.start()
    try:
        assert load.wait_for_version("1")
        publish(repo, 2, softmax_linear(784, 10, seed=2)[0])
        switched = load.wait_for_version("2")
        time.sleep(0.3)  # keep the load on while the old version is retired
    finally:
        load.stop()
    assert switched, load.answers[-5:]
    assert load.failures == []
    seen = load.versions_seen()
    # Once the new version answered, the old one never answers again: the swap is one step.
    first_new = seen.index("2")
    assert set(seen[first_new:]) == {"2"}
    assert wait_until(lambda: status(server, "toy")["1"]["state"] == "END")
    assert status(server, "toy")["2"]["state"] == "AVAILABLE"


def test_corrupt_version_is_reported_and_never_served(server: RunningServer, repo: Path) -> None:
    load = SteadyLoad(f"{server.url}/v1/models/toy:predict", BODY)
    load.start()
    try:
        assert load.wait_for_version("2")
        publish_corrupt(repo, 3)
        assert wait_until(lambda: "3" in status(server, "toy"))
        assert wait_until(lambda: status(server, "toy")["3"]["state"] == "END")
        time.sleep(0.5)  # a few more polls: the broken version must stay out
    finally:
        load.stop()
    assert load.failures == []
    assert set(load.versions_seen()) == {"2"}
    broken = status(server, "toy")["3"]
    assert broken["status"]["error_code"] != "OK"  # type: ignore[index]
    assert "model.onnx" in broken["status"]["error_message"]  # type: ignore[index]
    answer = httpx.post(f"{server.url}/v1/models/toy/versions/3:predict", content=BODY)
    assert answer.status_code == 404
    assert "END" in answer.json()["error"]


def test_changed_signature_is_refused(server: RunningServer, repo: Path) -> None:
    publish(repo, 4, two_in_two_out())
    assert wait_until(lambda: status(server, "toy").get("4", {}).get("state") == "END")
    message = status(server, "toy")["4"]["status"]["error_message"]  # type: ignore[index]
    assert "signature" in message
    answer = httpx.post(f"{server.url}/v1/models/toy:predict", content=BODY)
    assert answer.headers["x-model-version"] == "2"


def test_deleted_version_is_unloaded(server: RunningServer, repo: Path) -> None:
    for broken in ("3", "4"):
        shutil.rmtree(repo / broken)
    shutil.rmtree(repo / "2")
    # Version 1 is the only one left: it loads again and takes over; 2 disappears.
    assert wait_until(lambda: set(status(server, "toy")) == {"1"})
    assert wait_until(lambda: status(server, "toy")["1"]["state"] == "AVAILABLE")
    answer = httpx.post(f"{server.url}/v1/models/toy:predict", content=BODY)
    assert answer.status_code == 200
    assert answer.headers["x-model-version"] == "1"


def test_fixed_version_is_retried(server: RunningServer, repo: Path) -> None:
    target = publish_corrupt(repo, 5)
    assert wait_until(lambda: status(server, "toy").get("5", {}).get("state") == "END")
    (target / "model.onnx").unlink()
    write_version(repo.parent / ".fix", 5, softmax_linear(784, 10, seed=5)[0])
    for item in (repo.parent / ".fix" / "5").iterdir():
        item.rename(target / item.name)
    assert wait_until(lambda: status(server, "toy")["5"]["state"] == "AVAILABLE")
