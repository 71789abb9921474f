"""``modelship serve`` with batching, as a real process."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import BIN, RunningServer, ToyModel, start_server, stop_server
from tests.fixtures.toy_models import reference_softmax_linear


@pytest.fixture(scope="module")
def batching_server(
    toy_model: ToyModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("batching")
    params = tmp / "batching.txt"
    params.write_text(
        "max_batch_size { value: 8 }\nbatch_timeout_micros { value: 2000 }\n"
        "num_batch_threads { value: 2 }\nallowed_batch_sizes: 4\nallowed_batch_sizes: 8\n"
    )
    server = start_server(
        [
            "--model_name", "toy",
            "--model_base_path", str(toy_model.base_path),
            "--enable_batching",
            "--batching_parameters_file", str(params),
        ],
        "toy",
        tmp,
    )  # fmt: skip
    yield server
    stop_server(server)


def test_concurrent_requests_each_get_their_own_predictions(
    batching_server: RunningServer, toy_model: ToyModel
) -> None:
    rng = np.random.default_rng(7)
    bodies = [rng.random((int(n), 784), dtype=np.float32) for n in rng.integers(1, 20, size=24)]

    def call(x: np.ndarray) -> np.ndarray:
        answer = httpx.post(
            f"{batching_server.url}/v1/models/toy:predict",
            json={"instances": x.tolist()},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        return np.asarray(answer.json()["predictions"])

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, bodies))
    for x, got in zip(bodies, results, strict=True):
        np.testing.assert_allclose(
            got, reference_softmax_linear(x, toy_model.weight, toy_model.bias), atol=1e-5
        )

    scrape = httpx.get(f"{batching_server.url}/monitoring/prometheus/metrics", timeout=5).text
    counts = [line for line in scrape.splitlines() if line.startswith("modelship_batch_size_count")]
    assert counts, scrape
    assert 'model="toy"' in counts[0]


def test_a_bad_batching_file_stops_serve_with_its_line(toy_model: ToyModel, tmp_path: Path) -> None:
    params = tmp_path / "batching.txt"
    params.write_text("max_batch_size { value: 8 }\nbatch_timeout { value: 2 }\n")
    result = subprocess.run(
        [
            str(BIN / "modelship"), "serve",
            "--model_name", "toy",
            "--model_base_path", str(toy_model.base_path),
            "--rest_api_port", "0",
            "--enable_batching",
            "--batching_parameters_file", str(params),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "batching.txt:2:" in result.stderr.replace("\n", "")
    assert "batch_timeout" in result.stderr


def test_a_taken_port_is_reported_not_a_traceback(toy_model: ToyModel) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                str(BIN / "modelship"), "serve",
                "--model_name", "toy",
                "--model_base_path", str(toy_model.base_path),
                "--rest_api_host", "127.0.0.1",
                "--rest_api_port", str(port),
                "--port", "0",
                "--workers", "1",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("flags", "batched"), [([], True), (["--enable_batching=false"], False)])
def test_a_flag_turns_off_batching_that_the_environment_turned_on(
    toy_model: ToyModel, tmp_path: Path, flags: list[str], batched: bool
) -> None:
    server = start_server(
        ["--model_name", "toy", "--model_base_path", str(toy_model.base_path), *flags],
        "toy",
        tmp_path,
        env={"MODELSHIP_ENABLE_BATCHING": "1"},
    )
    try:
        x = np.ones((2, 784), dtype=np.float32)
        answer = httpx.post(
            f"{server.url}/v1/models/toy:predict", json={"instances": x.tolist()}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        scrape = httpx.get(f"{server.url}/monitoring/prometheus/metrics", timeout=5).text
    finally:
        stop_server(server)
    # Only the batching executor records batch sizes.
    batches = [
        line for line in scrape.splitlines() if line.startswith("modelship_batch_size_count")
    ]
    assert bool(batches) is batched, scrape


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_one_worker_stops_with_status_zero(
    toy_model: ToyModel, tmp_path: Path, stop: signal.Signals
) -> None:
    # docker stop and process managers read a death by signal (143) as a failure.
    server = start_server(
        ["--model_name", "toy", "--model_base_path", str(toy_model.base_path)], "toy", tmp_path
    )
    try:
        answer = httpx.post(
            f"{server.url}/v1/models/toy:predict", json={"instances": [[0.5] * 784]}, timeout=30
        )
        assert answer.status_code == 200, answer.text
        server.process.send_signal(stop)
        assert server.process.wait(timeout=60) == 0, server.output()
    finally:
        stop_server(server)
    assert "Traceback" not in server.output()
