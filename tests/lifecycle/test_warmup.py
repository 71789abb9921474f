"""Warm-up: modelship's own requests and zeros (with an in-memory runtime), TFRecord framing, and
TF Serving's warm-up file written with TensorFlow and tensorflow-serving-api themselves."""

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
from modelship.lifecycle.warmup import (
    MAX_RECORDS,
    TFS_WARMUP_FILE,
    WARMUP_FILE,
    read_records,
    run_warmup,
    warmup_requests,
)
from modelship.manifest import Manifest
from modelship.runtimes import load_runtime
from modelship.signature import Signature, TensorSpec
from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.fake_runtime import FakeRuntime
from tests.fixtures.toy_models import softmax_linear, write_version

try:
    import tensorflow as tf
    from tensorflow_serving.apis import (
        classification_pb2,
        inference_pb2,
        predict_pb2,
        prediction_log_pb2,
    )
except ImportError:  # only the tests of files TensorFlow writes need it
    tf = None

needs_tensorflow = pytest.mark.skipif(
    tf is None, reason="needs tensorflow and tensorflow-serving-api"
)


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


@needs_tensorflow
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


@needs_tensorflow
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


@needs_tensorflow
@pytest.mark.parametrize(
    ("logs", "said"),
    [
        # Built in the test, as building a log needs TensorFlow.
        (lambda: [predict_log(1, "no_such")], "record 0: the request names unknown signature"),
        (lambda: [predict_log(1), classify_log(0)], "record 1: Input is empty"),
    ],
)
def test_a_request_that_cannot_run_fails_the_version(tmp_path: Path, logs: Any, said: str) -> None:
    version = write_version(tmp_path / "toy", 1, softmax_linear(784, 10)[0])
    write_warmup(version, logs())
    with pytest.raises(BadConfig, match=re.escape(said)):
        run_warmup(version, None, load_runtime(version))


@needs_tensorflow
def test_a_record_that_is_not_a_prediction_log_fails_the_version(tmp_path: Path) -> None:
    version = write_version(tmp_path / "toy", 1, softmax_linear(784, 10)[0])
    (version / "assets.extra").mkdir()
    with tf.io.TFRecordWriter(str(version / TFS_WARMUP_FILE)) as writer:
        writer.write(b"\xff\xff\xff\xff garbage")
    with pytest.raises(BadConfig, match="record 0 is not a PredictionLog"):
        run_warmup(version, None, load_runtime(version))


@needs_tensorflow
def test_more_records_than_tf_serving_allows_fail_the_version(tmp_path: Path) -> None:
    version = write_version(tmp_path / "toy", 1, softmax_linear(784, 10)[0])
    runtime = load_runtime(version)
    write_warmup(version, [predict_log(1)] * MAX_RECORDS)
    assert len(warmup_requests(version, None, runtime)) == MAX_RECORDS
    write_warmup(version, [predict_log(1)] * (MAX_RECORDS + 1))
    with pytest.raises(BadConfig, match=f"more than {MAX_RECORDS} records"):
        warmup_requests(version, None, runtime)


# modelship's own requests and zeros, with an in-memory runtime.
IMAGES = Signature(
    inputs={"x": TensorSpec("float32", (-1, 2, 3))},
    outputs={"probabilities": TensorSpec("float32", (-1, 3))},
)
TEXT = Signature(
    inputs={"text": TensorSpec("bytes", (-1,))},
    outputs={"probabilities": TensorSpec("float32", (-1, 3))},
)


def _fake(**signatures: Signature) -> FakeRuntime:
    return FakeRuntime(signatures=signatures or {"serving_default": IMAGES})


def _write_own(version: Path, content: str) -> None:
    (version / "assets.extra").mkdir(parents=True, exist_ok=True)
    (version / WARMUP_FILE).write_text(content)


def _own_manifest(**signatures: Signature) -> Manifest:
    return Manifest(name="toy", framework="fake", signatures=signatures)


def test_without_recorded_requests_each_signature_gets_zeros(tmp_path: Path) -> None:
    runtime = _fake(serving_default=IMAGES, text=TEXT)
    manifest = _own_manifest(serving_default=IMAGES, text=TEXT)
    requests = warmup_requests(tmp_path, manifest, runtime, iterations=3)
    # Variable dimensions become 1; a signature of strings has no zeros to send.
    assert [(name, list(arrays)) for name, arrays in requests] == [("serving_default", ["x"])]
    zeros = requests[0][1]["x"]
    assert zeros.shape == (1, 2, 3)
    assert zeros.dtype == np.float32
    assert not zeros.any()


def test_a_model_from_elsewhere_runs_only_the_requests_it_ships(tmp_path: Path) -> None:
    # No modelship.json: zeros are data the model may not accept, so none are made up.
    assert warmup_requests(tmp_path, None, _fake(serving_default=IMAGES)) == []
    unknown = Signature(
        inputs={"inputs": TensorSpec("float32", (), unknown_rank=True)},
        outputs={"y": TensorSpec("float32", (-1,))},
    )
    runtime = _fake(serving_default=unknown)
    assert warmup_requests(tmp_path, _own_manifest(serving_default=unknown), runtime) == []


def test_warmup_json_holds_one_request_or_a_list(tmp_path: Path) -> None:
    _write_own(tmp_path, '{"inputs": {"x": [[1, 2, 3]]}}')
    [(name, arrays)] = warmup_requests(tmp_path, None, _fake(), iterations=5)
    assert name == "serving_default"
    np.testing.assert_array_equal(arrays["x"], [[1, 2, 3]])
    _write_own(
        tmp_path,
        '[{"signature_name": "other", "inputs": {"x": [[0]]}}, {"inputs": {"x": [[1], [2]]}}]',
    )
    requests = warmup_requests(tmp_path, None, _fake())
    assert [(name, arrays["x"].shape) for name, arrays in requests] == [
        ("other", (1, 1)),
        ("serving_default", (2, 1)),
    ]


def test_the_manifest_key_counts_only_without_a_warmup_file(tmp_path: Path) -> None:
    manifest = Manifest(
        name="toy",
        framework="fake",
        signatures={"serving_default": IMAGES},
        extra={"warmup": {"inputs": {"x": [[7, 7]]}}},
    )
    [(_, arrays)] = warmup_requests(tmp_path, manifest, _fake())
    np.testing.assert_array_equal(arrays["x"], [[7, 7]])
    _write_own(tmp_path, '{"inputs": {"x": [[1]]}}')
    [(_, arrays)] = warmup_requests(tmp_path, manifest, _fake())
    np.testing.assert_array_equal(arrays["x"], [[1]])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"signature_name": "s"}', 'must be objects with an "inputs" object'),
        ('[{"inputs": {"x": [1]}}, 3]', 'must be objects with an "inputs" object'),
        ('{"inputs": [[1, 2]]}', 'must be objects with an "inputs" object'),
    ],
)
def test_a_malformed_warmup_file_is_a_bad_config(
    tmp_path: Path, content: str, message: str
) -> None:
    _write_own(tmp_path, content)
    with pytest.raises(BadConfig, match=message):
        warmup_requests(tmp_path, None, _fake())


def test_run_warmup_runs_each_request_and_counts_them(tmp_path: Path) -> None:
    runtime = _fake(serving_default=IMAGES, text=TEXT)
    assert run_warmup(tmp_path, _own_manifest(serving_default=IMAGES, text=TEXT), runtime) == 1
    assert runtime.calls == 1


def test_run_warmup_refuses_an_unknown_signature(tmp_path: Path) -> None:
    _write_own(
        tmp_path,
        '[{"inputs": {"x": [[[0, 0, 0], [0, 0, 0]]]}}, {"signature_name": "nope", "inputs": {}}]',
    )
    runtime = _fake()
    with pytest.raises(BadConfig, match="warm-up request 1 names unknown signature 'nope'"):
        run_warmup(tmp_path, None, runtime)
    assert runtime.calls == 1


def test_a_failing_warmup_request_fails_the_version_with_its_cause(tmp_path: Path) -> None:
    runtime = _fake()
    runtime.error = RuntimeError("out of memory")
    with pytest.raises(BadConfig, match="warm-up request 0 failed: out of memory") as caught:
        run_warmup(tmp_path, _own_manifest(serving_default=IMAGES), runtime)
    assert isinstance(caught.value.__cause__, RuntimeError)


# TFRecord framing against files written by TensorFlow's own writer.


def _write(path: Path, records: list[bytes]) -> Path:
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    return path


@needs_tensorflow
def test_records_come_back_as_tensorflow_wrote_them(tmp_path: Path) -> None:
    records = [b"", b"a", b"\x00\xff" * 300, bytes(range(256))]
    assert list(read_records(_write(tmp_path / "r", records))) == records


@needs_tensorflow
def test_an_empty_file_holds_no_record(tmp_path: Path) -> None:
    assert list(read_records(_write(tmp_path / "r", []))) == []


@needs_tensorflow
def test_every_truncation_is_refused_with_the_record_named(tmp_path: Path) -> None:
    content = _write(tmp_path / "r", [b"first record", b"second record"]).read_bytes()
    first_end = 8 + 4 + len(b"first record") + 4
    for cut in range(1, len(content)):
        if cut == first_end:
            continue  # a whole first record: a valid file of one record
        (tmp_path / "cut").write_bytes(content[:cut])
        with pytest.raises(BadConfig, match=r"record [01] at byte \d+ is truncated"):
            list(read_records(tmp_path / "cut"))


@needs_tensorflow
def test_a_missing_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(BadConfig, match="cannot read"):
        list(read_records(tmp_path / "absent"))


@needs_tensorflow
@pytest.mark.parametrize(
    ("position", "what"), [(2, "its length's checksum"), (8 + 4 + 3, "its data's checksum")]
)
@needs_tensorflow
def test_a_changed_byte_is_reported_as_corruption(tmp_path: Path, position: int, what: str) -> None:
    content = bytearray(_write(tmp_path / "r", [b"first record", b"second record"]).read_bytes())
    content[position] ^= 0x01  # one bit, in the length or in the first record's data
    (tmp_path / "changed").write_bytes(bytes(content))
    with pytest.raises(BadConfig, match=rf"record 0 at byte 0 is corrupt \({what}"):
        list(read_records(tmp_path / "changed"))


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


@needs_tensorflow
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


@needs_tensorflow
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
