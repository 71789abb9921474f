"""The check that a server's first answer holds the model's outputs before it is measured."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
from tritonclient.grpc import service_pb2

from benchmarks import correctness, models, payloads


def _expected(tmp_path: Path) -> tuple[np.ndarray, np.ndarray]:
    path = tmp_path / "mnist" / "1" / "model.onnx"
    models.build_mlp(path)
    array = payloads.instances((784,), count=2)
    return array, correctness.expected_outputs(path, array)


def test_answers_in_each_json_shape_are_read_and_compared(tmp_path: Path) -> None:
    _, expected = _expected(tmp_path)
    predictions = orjson.dumps({"predictions": expected.tolist()})
    v2 = orjson.dumps({"outputs": [{"name": "p", "data": expected.reshape(-1).tolist()}]})
    assert correctness.mismatch("tfs", predictions, expected) is None
    assert correctness.mismatch("v2", v2, expected) is None
    wrong = orjson.dumps({"predictions": (expected + 0.01).tolist()})
    assert "differ" in (correctness.mismatch("tfs", wrong, expected) or "")
    fixed = orjson.dumps({"predictions": [[0.1] * 10]})
    assert "output values" in (correctness.mismatch("litserve", fixed, expected) or "")
    assert "unreadable" in (correctness.mismatch("tfs", b'{"error": "x"}', expected) or "")


def test_a_grpc_model_infer_reply_with_raw_contents_is_compared(tmp_path: Path) -> None:
    _, expected = _expected(tmp_path)
    reply = service_pb2.ModelInferResponse(model_name="mnist")
    reply.raw_output_contents.append(expected.astype("<f4").tobytes())
    assert correctness.mismatch("grpc-v2", reply.SerializeToString(), expected) is None
    reply.raw_output_contents[0] = np.zeros_like(expected).astype("<f4").tobytes()
    assert correctness.mismatch("grpc-v2", reply.SerializeToString(), expected) is not None
