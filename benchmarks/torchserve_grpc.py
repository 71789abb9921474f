"""The two messages of TorchServe's gRPC ``Predictions`` call, declared here from its documented
field numbers (no .proto file is shipped or copied): enough for h2load to post a prediction
request and for the probe to read the answer.

- service ``org.pytorch.serve.grpc.inference.InferenceAPIsService``, method ``Predictions``;
- ``PredictionsRequest``: ``model_name`` = 1 (string), ``model_version`` = 2 (string),
  ``input`` = 3 (``map<string, bytes>``: each key reaches the handler as a field of its request);
- ``PredictionResponse``: ``prediction`` = 1 (bytes: what the handler returned, as JSON for a
  dict).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["PREDICTIONS", "decode_response", "encode_request"]

PACKAGE = "org.pytorch.serve.grpc.inference"
PREDICTIONS = f"/{PACKAGE}.InferenceAPIsService/Predictions"

_F = descriptor_pb2.FieldDescriptorProto


@cache
def _classes() -> tuple[Any, Any]:
    file = descriptor_pb2.FileDescriptorProto(
        name="benchmarks/torchserve_inference.proto", package=PACKAGE, syntax="proto3"
    )
    request = file.message_type.add(name="PredictionsRequest")
    request.field.add(name="model_name", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    request.field.add(name="model_version", number=2, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    entry = request.nested_type.add(name="InputEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=_F.TYPE_BYTES, label=_F.LABEL_OPTIONAL)
    request.field.add(
        name="input",
        number=3,
        type=_F.TYPE_MESSAGE,
        label=_F.LABEL_REPEATED,
        type_name=f".{PACKAGE}.PredictionsRequest.InputEntry",
    )
    response = file.message_type.add(name="PredictionResponse")
    response.field.add(name="prediction", number=1, type=_F.TYPE_BYTES, label=_F.LABEL_OPTIONAL)
    # a pool of its own: nothing else in the process declares these names
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return (
        message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"{PACKAGE}.PredictionsRequest")
        ),
        message_factory.GetMessageClass(
            pool.FindMessageTypeByName(f"{PACKAGE}.PredictionResponse")
        ),
    )


def encode_request(model: str, inputs: dict[str, bytes]) -> bytes:
    """A serialized ``PredictionsRequest`` for ``model`` carrying ``inputs``."""
    request_class, _ = _classes()
    request = request_class(model_name=model)
    for key, value in inputs.items():
        request.input[key] = value
    return request.SerializeToString()  # type: ignore[no-any-return]


def decode_response(reply: bytes) -> bytes:
    """The ``prediction`` bytes of a serialized ``PredictionResponse``."""
    _, response_class = _classes()
    return response_class.FromString(reply).prediction  # type: ignore[no-any-return]
