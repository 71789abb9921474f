"""Drift seen by a real Prometheus (Debian's package) scraping a real ``modelship serve`` every
second, with deploy/prometheus/rules.yml (its ``for:`` shortened): low under in-distribution
traffic, and the drift alert firing once the images come inverted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml

from modelship.data import load_dataset
from modelship.data.fingerprint import input_stats
from modelship.manifest import Manifest
from tests.conftest import RunningServer, free_port, start_server, stop_server
from tests.fixtures.toy_models import softmax_linear, write_version

pytestmark = pytest.mark.slow

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "rules.yml"


@pytest.fixture(scope="module")
def digits() -> Any:
    return load_dataset("digits")


def _prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        if os.environ.get("MODELSHIP_REQUIRE_DOCKER") == "1":  # set in CI by .ci/run
            pytest.fail("prometheus is missing: apt-get install prometheus (.ci/run does)")
        pytest.skip("prometheus is missing: apt-get install prometheus")
    return found


@pytest.fixture(scope="module")
def server(digits: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The toy softmax model, with the digits' training statistics in its modelship.json."""
    base = tmp_path_factory.mktemp("repo") / "digits"
    model, weight, bias = softmax_linear(784, 10)
    path = write_version(base, 1, model, labels=list(digits.labels))
    manifest = Manifest.read(path)
    x_test = digits.x_test.reshape(len(digits.x_test), -1)
    predicted = np.argmax(x_test @ weight + bias, axis=1)
    stats = input_stats(digits.x_train, digits.y_train, digits.labels)
    stats["predicted_class_counts"] = dict(
        zip(digits.labels, np.bincount(predicted, minlength=10).tolist(), strict=True)
    )
    manifest.data = {"stats": stats}
    manifest.write(path)
    flags = ["--drift_sampling_rate", "1", "--drift_window_rows", "200", "--drift_min_rows", "100"]
    running = start_server(
        ["--model_name", "digits", "--model_base_path", str(base), *flags],
        "digits",
        tmp_path_factory.mktemp("server"),
    )
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def prometheus(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus on 127.0.0.1, scraping the server every second with the deploy rules."""
    binary = _prometheus_binary()
    tmp = tmp_path_factory.mktemp("prometheus")
    rules = yaml.safe_load(RULES.read_text())
    for group in rules["groups"]:
        group["interval"] = "1s"
        for rule in group["rules"]:
            rule["for"] = "2s"
    (tmp / "rules.yml").write_text(yaml.safe_dump(rules))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "scrape_configs": [
            {
                "job_name": "modelship",
                "metrics_path": "/monitoring/prometheus/metrics",
                "static_configs": [{"targets": [server.url.removeprefix("http://")]}],
            }
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = tmp / "prometheus.log"
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{url}/-/ready", timeout=1).status_code == 200, 30, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait(check: Callable[[], bool], timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not so after {timeout}s" + (f":\n{log.read_text()}" if log else ""))


def _query(prometheus: str, expr: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]  # type: ignore[no-any-return]


def _firing(prometheus: str) -> dict[str, dict[str, Any]]:
    answer = httpx.get(f"{prometheus}/api/v1/alerts", timeout=5).json()
    return {a["labels"]["alertname"]: a for a in answer["data"]["alerts"] if a["state"] == "firing"}


def _window_rows(server: RunningServer) -> int:
    (entry,) = httpx.get(f"{server.url}/monitoring/drift/digits").json()["versions"]
    return int(entry["input"]["rows"])


def _send(server: RunningServer, rows: np.ndarray[Any, Any]) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for start in range(0, len(rows), 10):
            body = {"instances": rows[start : start + 10].tolist()}
            answer = client.post("/v1/models/digits:predict", content=json.dumps(body))
            assert answer.status_code == 200, answer.text


def test_drift_stays_low_in_distribution_and_the_alert_fires_on_inverted_images(
    server: RunningServer, prometheus: str, digits: Any
) -> None:
    x_test = digits.x_test.reshape(len(digits.x_test), -1).astype(np.float32)
    _wait(lambda: _query(prometheus, 'up{job="modelship"} == 1') != [], 30)
    _send(server, x_test[:200])
    _wait(lambda: _window_rows(server) == 200, 10)
    time.sleep(2)  # two scrapes after the full window was published
    drift = 'modelship_input_drift{model="digits",version="1"}'
    (calm,) = _query(prometheus, drift)
    assert float(calm["value"][1]) < 0.1
    (calm_classes,) = _query(prometheus, 'modelship_prediction_drift{model="digits"}')
    assert float(calm_classes["value"][1]) < 0.25
    time.sleep(3)  # longer than the rules' for: nothing may fire on this traffic
    assert "ModelshipInputDrift" not in _firing(prometheus)

    _send(server, 1.0 - x_test[:200])  # the same digits, inverted: white on black
    _wait(lambda: "ModelshipInputDrift" in _firing(prometheus), 30)
    alert = _firing(prometheus)["ModelshipInputDrift"]
    assert alert["labels"]["model"] == "digits"
    assert alert["labels"]["version"] == "1"
    assert float(alert["value"]) > 0.5
    # The server's own JSON says the same.
    (entry,) = httpx.get(f"{server.url}/monitoring/drift/digits").json()["versions"]
    assert entry["input"]["drifted_feature_share"] > 0.5
