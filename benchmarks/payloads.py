"""Request bodies: the same numbers in each server's native protocol.

modelship and the raw reference apps take TensorFlow Serving's REST shape
(``{"instances": [...]}``), MLServer the Open Inference Protocol (V2), LitServe the JSON
that our LitAPI decodes. Binary variants: a base64 JPEG in TF Serving's ``{"b64": ...}``
form and a V2 binary tensor (JSON header followed by raw little-endian bytes).
"""

from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass, field

import numpy as np
import orjson
from PIL import Image

from benchmarks import torchserve_grpc

__all__ = ["GrpcCall", "Payload", "grpc_call", "image", "instances", "make"]

PROTOCOLS = ("tfs", "tfs-b64", "v2", "v2-binary", "litserve", "torchserve")


@dataclass(frozen=True)
class Payload:
    """One HTTP request, ready for wrk or a Python load generator."""

    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "application/json")


def instances(shape: tuple[int, ...], count: int = 1, seed: int = 0) -> np.ndarray:
    """Deterministic inputs in [0, 1] with three decimals, so every JSON encoding is equal."""
    rng = np.random.default_rng(seed)
    return np.round(rng.random((count, *shape)), 3).astype(np.float32)


def image(size: int = 224, seed: int = 0) -> tuple[np.ndarray, bytes]:
    """A photo-like RGB image (gradients plus noise) as scaled float pixels and as a JPEG.

    The float array is the decoded JPEG divided by 255, rounded like :func:`instances`.
    """
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size)
    rgb = np.stack(
        [
            np.add.outer(ramp, ramp) / 2,
            np.add.outer(ramp[::-1], ramp) / 2,
            np.tile(ramp, (size, 1)),
        ],
        axis=-1,
    )
    rgb = np.clip(rgb + rng.normal(0, 12, rgb.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    jpeg = buffer.getvalue()
    decoded = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=np.float32)
    return np.round(decoded / 255, 3)[None].astype(np.float32), jpeg


def _json(value: object) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


def _floats(array: np.ndarray) -> list[object]:
    # float64 lists print the three-decimal values exactly ("0.123"), float32 would not
    return array.astype(np.float64).round(3).tolist()  # type: ignore[no-any-return]


def make(
    protocol: str,
    model: str,
    input_name: str,
    array: np.ndarray | None = None,
    jpeg: bytes | None = None,
) -> Payload:
    """Encode ``array`` (a batch) or ``jpeg`` (one image) for ``protocol`` and ``model``.

    Raises:
        ValueError: for an unknown protocol or a missing array/JPEG.
    """
    if protocol == "tfs-b64":
        if jpeg is None:
            raise ValueError("the tfs-b64 protocol needs a JPEG")
        body = {"instances": [{"b64": base64.b64encode(jpeg).decode()}]}
        return Payload(f"/v1/models/{model}:predict", _json(body))
    if array is None:
        raise ValueError(f"the {protocol} protocol needs an array")
    if protocol == "tfs":
        return Payload(f"/v1/models/{model}:predict", _json({"instances": _floats(array)}))
    if protocol == "litserve":  # also BentoML's
        return Payload("/predict", _json({"instances": _floats(array)}))
    if protocol == "torchserve":
        return Payload(f"/predictions/{model}", _json({"instances": _floats(array)}))
    tensor: dict[str, object] = {
        "name": input_name,
        "shape": list(array.shape),
        "datatype": "FP32",
    }
    path = f"/v2/models/{model}/infer"
    if protocol == "v2":
        tensor["data"] = _floats(array.reshape(-1))
        return Payload(path, _json({"inputs": [tensor]}))
    if protocol == "v2-binary":
        raw = np.ascontiguousarray(array, dtype="<f4").tobytes()
        tensor["parameters"] = {"binary_data_size": len(raw)}
        header = _json({"inputs": [tensor]})
        headers = {
            "Content-Type": "application/octet-stream",
            "Inference-Header-Content-Length": str(len(header)),
        }
        return Payload(path, header + raw, headers)
    raise ValueError(f"unknown protocol {protocol!r}; expected one of {', '.join(PROTOCOLS)}")


GRPC_METHODS = {
    "grpc-v2": "/inference.GRPCInferenceService/ModelInfer",
    "grpc-tfs": "/tensorflow.serving.PredictionService/Predict",
    "grpc-torchserve": torchserve_grpc.PREDICTIONS,
}


@dataclass(frozen=True)
class GrpcCall:
    """One unary gRPC request: the method's path and the serialized request message."""

    path: str
    message: bytes


def grpc_call(kind: str, model: str, input_name: str, array: np.ndarray) -> GrpcCall:
    """``array`` (a batch of float32) as a V2 ``ModelInfer`` request with raw contents
    (``grpc-v2``, what Triton's clients send), a TF Serving ``Predict`` request with
    ``tensor_content`` (``grpc-tfs``, what ``tf.make_tensor_proto`` produces) or TorchServe's
    ``Predictions`` request with the JSON body of its REST API as input ``data``
    (``grpc-torchserve``).

    Raises:
        ValueError: for another kind.
    """
    raw = np.ascontiguousarray(array, dtype="<f4").tobytes()
    if kind == "grpc-v2":
        from tritonclient.grpc import service_pb2

        request = service_pb2.ModelInferRequest(model_name=model)
        tensor = request.inputs.add(name=input_name, datatype="FP32")
        tensor.shape.extend(array.shape)
        request.raw_input_contents.append(raw)
        return GrpcCall(GRPC_METHODS[kind], request.SerializeToString())
    if kind == "grpc-tfs":
        # the message classes import TensorFlow's protos, which load TensorFlow: keep it quiet
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from tensorflow_serving.apis import predict_pb2

        predict = predict_pb2.PredictRequest()
        predict.model_spec.name = model
        proto = predict.inputs[input_name]
        proto.dtype = 1  # DT_FLOAT
        for size in array.shape:
            proto.tensor_shape.dim.add(size=size)
        proto.tensor_content = raw
        return GrpcCall(GRPC_METHODS[kind], predict.SerializeToString())
    if kind == "grpc-torchserve":
        body = _json({"instances": _floats(array)})
        return GrpcCall(GRPC_METHODS[kind], torchserve_grpc.encode_request(model, {"data": body}))
    expected = ", ".join(GRPC_METHODS)
    raise ValueError(f"unknown gRPC request kind {kind!r}; expected one of {expected}")
