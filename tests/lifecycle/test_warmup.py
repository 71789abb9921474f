"""TF Serving's warm-up file, written with TensorFlow and tensorflow-serving-api themselves."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from modelship.errors import BadConfig
from modelship.lifecycle.warmup import MAX_RECORDS, TFS_WARMUP_FILE, run_warmup, warmup_requests
from modelship.runtimes import load_runtime
from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.toy_models import softmax_linear, write_version

tf = pytest.importorskip("tensorflow")
prediction_log_pb2 = pytest.importorskip("tensorflow_serving.apis.prediction_log_pb2")
predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2")
classification_pb2 = pytest.importorskip("tensorflow_serving.apis.classification_pb2")
inference_pb2 = pytest.importorskip("tensorflow_serving.apis.inference_pb2")


def predict_log(rows: int, signature: str = "") -> Any:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "toy"
    if signature:
        request.model_spec.signature_name = signature
    images = np.linspace(0, 1, rows * 784, dtype=np.float32).reshape(rows, 784)
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    return prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)
    )


def _examples(request: Any, rows: int) -> None:
    for row in range(rows):
        example = request.input.example_list.examples.add()
        example.features.feature["images"].float_list.value.extend([row / 10] * 784)


def classify_log(rows: int) -> Any:
    request = classification_pb2.ClassificationRequest()
    _examples(request, rows)
    return prediction_log_pb2.PredictionLog(
        classify_log=prediction_log_pb2.ClassifyLog(request=request)
    )


def multi_inference_log(tasks: int) -> Any:
    request = inference_pb2.MultiInferenceRequest()
    for _ in range(tasks):
        request.tasks.add().method_name = "tensorflow/serving/classify"
    _examples(request, 2)
    return prediction_log_pb2.PredictionLog(
        multi_inference_log=prediction_log_pb2.MultiInferenceLog(request=request)
    )


def write_warmup(version: Path, logs: list[Any]) -> Path:
    (version / "assets.extra").mkdir(exist_ok=True)
    file = version / TFS_WARMUP_FILE
    with tf.io.TFRecordWriter(str(file)) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return file


def test_each_log_kind_becomes_the_request_it_holds(tmp_path: Path) -> None:
    version = write_version(tmp_path / "toy", 1, softmax_linear(784, 10)[0])
    write_warmup(
        version, [predict_log(3, "serving_default"), classify_log(2), multi_inference_log(2)]
    )
    runtime = load_runtime(version)
    requests = warmup_requests(version, None, runtime)
    assert [(name, arrays["images"].shape) for name, arrays in requests] == [
        ("serving_default", (3, 784)),
        ("serving_default", (2, 784)),
        ("serving_default", (2, 784)),
        ("serving_default", (2, 784)),
    ]
    np.testing.assert_array_equal(
        requests[0][1]["images"], np.linspace(0, 1, 3 * 784, dtype=np.float32).reshape(3, 784)
    )
    assert run_warmup(version, None, runtime) == 4


def test_tf_serving_records_run_first_and_repeat_then_modelship_own(tmp_path: Path) -> None:
    version = write_version(tmp_path / "toy", 1, softmax_linear(784, 10)[0])
    write_warmup(version, [predict_log(1), predict_log(2)])
    (version / "assets.extra" / "warmup.json").write_text(
        '{"inputs": {"images": [' + ",".join(["[0.0" + ",0.0" * 783 + "]"] * 5) + "]}}"
    )
    runtime = load_runtime(version)
    requests = warmup_requests(version, None, runtime, iterations=2)
    assert [arrays["images"].shape[0] for _, arrays in requests] == [1, 1, 2, 2, 5]
    # No recorded request runs with 0 iterations, and no zeros are synthesised either.
    (version / "assets.extra" / "warmup.json").unlink()
    assert warmup_requests(version, None, runtime, iterations=0) == []


@pytest.mark.parametrize(
    ("logs", "said"),
    [
        ([predict_log(1, "no_such")], "record 0: the request names unknown signature 'no_such'"),
        ([predict_log(1), classify_log(0)], "record 1: Input is empty"),
    ],
)
def test_a_request_that_cannot_run_fails_the_version(
    tmp_path: Path, logs: list[Any], said: str
) -> None:
    version = write_version(tmp_path / "toy", 1, softmax_linear(784, 10)[0])
    write_warmup(version, logs)
    with pytest.raises(BadConfig, match=re.escape(said)):
        run_warmup(version, None, load_runtime(version))


def test_a_record_that_is_not_a_prediction_log_fails_the_version(tmp_path: Path) -> None:
    version = write_version(tmp_path / "toy", 1, softmax_linear(784, 10)[0])
    (version / "assets.extra").mkdir()
    with tf.io.TFRecordWriter(str(version / TFS_WARMUP_FILE)) as writer:
        writer.write(b"\xff\xff\xff\xff garbage")
    with pytest.raises(BadConfig, match="record 0 is not a PredictionLog"):
        run_warmup(version, None, load_runtime(version))


def test_more_records_than_tf_serving_allows_fail_the_version(tmp_path: Path) -> None:
    version = write_version(tmp_path / "toy", 1, softmax_linear(784, 10)[0])
    runtime = load_runtime(version)
    write_warmup(version, [predict_log(1)] * MAX_RECORDS)
    assert len(warmup_requests(version, None, runtime)) == MAX_RECORDS
    write_warmup(version, [predict_log(1)] * (MAX_RECORDS + 1))
    with pytest.raises(BadConfig, match=f"more than {MAX_RECORDS} records"):
        warmup_requests(version, None, runtime)


# A real server: version 1 warms up from TF Serving's file; version 2's file is truncated.
RECORDS = 5
BODY = {"instances": [[0.5] * 784]}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("tfs-warmup") / "toy"
    warm = write_version(base, 1, softmax_linear(784, 10, seed=1)[0])
    write_warmup(warm, [predict_log(4)] * (RECORDS - 2) + [classify_log(3), multi_inference_log(1)])
    return base


@pytest.fixture(scope="module")
def server(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        [
            "--model_name=toy",
            f"--model_base_path={repo}",
            "--file_system_poll_wait_seconds=0.2",
            "--num_request_iterations_for_warmup=2",
        ],
        "toy",
        tmp_path_factory.mktemp("server"),
    )
    yield running
    stop_server(running)


def test_the_warmup_file_runs_before_the_version_serves(server: RunningServer) -> None:
    output = server.output()
    assert (
        f"tf_serving_warmup_requests: {RECORDS} warm-up records read, {RECORDS} requests" in output
    )
    # Every record twice (--num_request_iterations_for_warmup=2); no synthesised zeros.
    assert re.search(rf"warmed up \S+/toy/1 with {2 * RECORDS} requests in", output), output
    answer = httpx.post(f"{server.url}/v1/models/toy:predict", json=BODY, timeout=10)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["predictions"][0]) == 10


def test_a_truncated_warmup_file_fails_its_version_the_previous_one_serves(
    server: RunningServer, repo: Path
) -> None:
    # Staged under a hidden name, then renamed into place, as an exporter publishes.
    staging = repo.parent / ".staging"
    version = write_version(staging, 2, softmax_linear(784, 10, seed=2)[0])
    content = write_warmup(version, [predict_log(4), predict_log(4)]).read_bytes()
    (version / TFS_WARMUP_FILE).write_bytes(content[:-100])
    version.rename(repo / "2")
    deadline = time.monotonic() + 30
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        answer = httpx.get(f"{server.url}/v1/models/toy", timeout=5).json()
        state = {v["version"]: v for v in answer["model_version_status"]}.get("2", {})
        if state.get("state") == "END":
            break
        time.sleep(0.1)
    assert state.get("state") == "END", state
    message = state["status"]["error_message"]
    assert "tf_serving_warmup_requests: record 1 at byte" in message
    assert "is truncated or corrupt" in message
    answer = httpx.post(f"{server.url}/v1/models/toy:predict", json=BODY, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-model-version"] == "1"
