"""TF Serving's REST options on a real ``modelship serve`` process: the inference deadline
(``--rest_api_timeout_in_ms``), CORS (``--rest_api_enable_cors_support``) and the Prometheus
endpoint of ``--monitoring_config_file``."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import BIN, RunningServer, ToyModel, start_server, stop_server
from tests.fixtures.toy_models import reference_softmax_linear

TIMEOUT_MS = 1000
ORIGIN = "https://app.example.com"


@pytest.fixture(scope="module")
def options_server(
    toy_model: ToyModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """``toy`` behind a batcher whose batches of 4 rows wait up to 10 minutes to fill: a
    smaller request cannot finish before the deadline, a full batch runs at once."""
    tmp = tmp_path_factory.mktemp("rest-options")
    batching = tmp / "batching.config"
    batching.write_text(
        "max_batch_size { value: 4 }\n"
        "batch_timeout_micros { value: 600000000 }\n"
        "num_batch_threads { value: 1 }\n"
    )
    monitoring = tmp / "monitoring.config"
    monitoring.write_text('prometheus_config { enable: true path: "/ops/prometheus" }\n')
    server = start_server(
        [
            "--model_name=toy",
            f"--model_base_path={toy_model.base_path}",
            "--enable_batching=true",
            f"--batching_parameters_file={batching}",
            f"--rest_api_timeout_in_ms={TIMEOUT_MS}",
            "--rest_api_enable_cors_support=true",
            f"--monitoring_config_file={monitoring}",
        ],
        "toy",
        tmp,
    )
    yield server
    stop_server(server)


def _rows(n: int) -> np.ndarray:
    return np.random.default_rng(n).random((n, 784), dtype=np.float32)


def test_an_inference_past_the_deadline_answers_504_and_the_server_keeps_serving(
    options_server: RunningServer, toy_model: ToyModel
) -> None:
    url = options_server.url
    late = httpx.post(
        f"{url}/v1/models/toy:predict", json={"instances": _rows(1).tolist()}, timeout=30
    )
    assert late.status_code == 504  # TF Serving's status for DEADLINE_EXCEEDED
    assert late.headers["content-type"] == "application/json"
    message = late.json()["error"]
    assert f"did not finish within {TIMEOUT_MS} ms" in message
    assert "--rest_api_timeout_in_ms" in message

    for path, body in (
        ("/v1/models/toy:classify", {"examples": [{"images": _rows(1)[0].tolist()}]}),
        (
            "/v2/models/toy/infer",
            {
                "inputs": [
                    {"name": "images", "shape": [1, 784], "datatype": "FP32", "data": [0.5] * 784}
                ]
            },
        ),
    ):
        answer = httpx.post(f"{url}{path}", json=body, timeout=30)
        assert answer.status_code == 504, (path, answer.text)
        assert "did not finish within" in answer.json()["error"]

    # A full batch runs at once: the server still answers, with the right values.
    full = _rows(4)
    answer = httpx.post(
        f"{url}/v1/models/toy:predict", json={"instances": full.tolist()}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    expected = reference_softmax_linear(full, toy_model.weight, toy_model.bias)
    np.testing.assert_allclose(answer.json()["predictions"], expected, rtol=1e-4, atol=1e-7)
    scrape = httpx.get(f"{url}/ops/prometheus", timeout=10).text
    for api in ("rest_tfs", "rest_v2"):
        counted = f'modelship_requests_total{{api="{api}",model="toy",status="DEADLINE_EXCEEDED"'
        assert counted in scrape


def test_cors_headers_are_on_answers_and_preflights_are_answered(
    options_server: RunningServer,
) -> None:
    url = options_server.url
    preflight = httpx.options(
        f"{url}/v1/models/toy:predict",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", ORIGIN)
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()

    status = httpx.get(f"{url}/v1/models/toy", headers={"Origin": ORIGIN}, timeout=10)
    assert status.status_code == 200
    assert status.headers["access-control-allow-origin"] == "*"
    # The predict fast path answers with them too, errors included.
    bad = httpx.post(
        f"{url}/v1/models/toy:predict", json={"nope": 1}, headers={"Origin": ORIGIN}, timeout=10
    )
    assert bad.status_code == 400
    assert bad.headers["access-control-allow-origin"] == "*"


def test_without_the_flag_there_are_no_cors_headers(toy_server: RunningServer) -> None:
    answer = httpx.get(f"{toy_server.url}/v1/models/toy", headers={"Origin": ORIGIN}, timeout=10)
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers


def test_metrics_are_served_only_where_the_monitoring_config_says(
    options_server: RunningServer,
) -> None:
    url = options_server.url
    answer = httpx.get(f"{url}/ops/prometheus", timeout=10)
    assert answer.status_code == 200
    assert "modelship_requests_total" in answer.text
    for default in ("/monitoring/prometheus/metrics", "/metrics"):
        assert httpx.get(f"{url}{default}", timeout=10).status_code == 404


def test_without_a_monitoring_config_metrics_stay_at_both_default_paths(
    toy_server: RunningServer,
) -> None:
    for path in ("/monitoring/prometheus/metrics", "/metrics"):
        answer = httpx.get(f"{toy_server.url}{path}", timeout=10)
        assert answer.status_code == 200
        assert "modelship_requests_total" in answer.text


def test_a_disabled_prometheus_config_serves_no_metrics(
    toy_model: ToyModel, tmp_path: Path
) -> None:
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text("prometheus_config { enable: false }\n")
    server = start_server(
        [
            "--model_name=toy",
            f"--model_base_path={toy_model.base_path}",
            f"--monitoring_config_file={monitoring}",
            "--port=0",
        ],
        "toy",
        tmp_path,
    )
    try:
        for path in ("/monitoring/prometheus/metrics", "/metrics"):
            assert httpx.get(f"{server.url}{path}", timeout=10).status_code == 404
        assert httpx.get(f"{server.url}/v1/models/toy", timeout=10).status_code == 200
    finally:
        stop_server(server)


def test_a_broken_monitoring_config_stops_the_server_with_its_line(
    toy_model: ToyModel, tmp_path: Path
) -> None:
    monitoring = tmp_path / "monitoring.config"
    monitoring.write_text("prometheus_config { enabled: true }\n")
    done = subprocess.run(
        [
            str(BIN / "modelship"),
            "serve",
            "--model_name=toy",
            f"--model_base_path={toy_model.base_path}",
            f"--monitoring_config_file={monitoring}",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert str(monitoring) in done.stderr
    assert "enabled" in done.stderr
