"""Checks that a server's answer holds the model's outputs before the server is measured.

A server that answers 200 with the wrong numbers (a stale model, a transposed input, a handler
that ignores the body) would be measured as fast as a correct one; comparing its first answer
with onnxruntime's own output on the same input catches that.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson

__all__ = ["expected_outputs", "mismatch"]

# float32 printed as JSON and read back, or computed by another build of onnxruntime
_TOLERANCE = 1e-4


def expected_outputs(model_path: os.PathLike[str] | str, array: np.ndarray) -> np.ndarray:
    """The first output of the model on ``array``, computed here with onnxruntime."""
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: array.astype(np.float32)})[0])


def _json_values(body: bytes) -> Any:
    answer = orjson.loads(body)
    if "predictions" in answer:  # TF Serving, KServe V1, LitServe, BentoML, TorchServe
        return answer["predictions"]
    if "outputs" in answer:  # the Open Inference Protocol
        return answer["outputs"][0]["data"]
    raise ValueError(f"no predictions or outputs in {body[:120]!r}")


def _grpc_values(encoding: str, reply: bytes) -> np.ndarray:
    if encoding == "grpc-torchserve":
        from benchmarks import torchserve_grpc

        return np.asarray(_json_values(torchserve_grpc.decode_response(reply)), dtype=np.float32)
    if encoding == "grpc-v2":
        from tritonclient.grpc import service_pb2

        infer = service_pb2.ModelInferResponse.FromString(reply)
        if infer.raw_output_contents:
            return np.frombuffer(infer.raw_output_contents[0], dtype="<f4")
        return np.asarray(infer.outputs[0].contents.fp32_contents, dtype=np.float32)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tensorflow_serving.apis import predict_pb2

    predict = predict_pb2.PredictResponse.FromString(reply)
    tensor = next(iter(predict.outputs.values()))
    if tensor.tensor_content:
        return np.frombuffer(tensor.tensor_content, dtype="<f4")
    return np.asarray(tensor.float_val, dtype=np.float32)


def mismatch(encoding: str, answer: bytes, expected: np.ndarray) -> str | None:
    """None when ``answer`` (an HTTP body, or a serialized gRPC reply for ``grpc-*``) holds
    ``expected``; otherwise what is wrong."""
    try:
        if encoding.startswith("grpc"):
            got = _grpc_values(encoding, answer)
        else:
            got = np.asarray(_json_values(answer), dtype=np.float32)
        got = got.reshape(-1)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return f"unreadable answer: {exc}"
    want = expected.reshape(-1)
    if got.shape != want.shape:
        return f"{got.size} output values, expected {want.size}"
    worst = float(np.max(np.abs(got - want)))
    if worst > _TOLERANCE:
        return f"outputs differ from onnxruntime's by up to {worst:.3g}"
    return None
