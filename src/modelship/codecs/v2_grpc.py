"""Open Inference Protocol tensors over gRPC: ``raw_*_contents`` bytes or typed contents."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.codecs import dtypes
from modelship.codecs.bytes_framing import as_bytes, raw_bytes, split_bytes
from modelship.codecs.limits import RequestLimits
from modelship.errors import InvalidInput
from modelship.protos import v2_grpc_service_pb2 as pb

__all__ = ["decode_input", "encode_outputs", "fill_outputs", "raw_bytes"]


_DEFAULT_LIMITS = RequestLimits()


def decode_input(
    tensor: pb.ModelInferRequest.InferInputTensor,
    raw: bytes | None,
    limits: RequestLimits = _DEFAULT_LIMITS,
) -> np.ndarray[Any, Any]:
    """One request input from its raw bytes (if the request sent raw contents) or contents;
    its shape is checked against ``limits`` first."""
    name = tensor.name
    entry = dtypes.by_v2(tensor.datatype)
    if entry is None:
        raise InvalidInput(
            f"input {name!r}: datatype {tensor.datatype!r} is not supported; use one of "
            + ", ".join(d.v2 for d in dtypes.DTYPES)
        )
    dtype = entry.numpy
    shape = tuple(int(d) for d in tensor.shape)
    if any(d < 0 for d in shape):
        raise InvalidInput(f"input {name!r}: shape {list(shape)} has a negative dimension")
    size = limits.check_tensor(name, shape, dtype)
    if raw is not None:
        if dtype.kind == "O":
            flat = split_bytes(name, raw)
        else:
            if len(raw) != size * dtype.itemsize:
                raise InvalidInput(
                    f"input {name!r}: {len(raw)} raw bytes, but shape {list(shape)} of "
                    f"{tensor.datatype} needs {size * dtype.itemsize}"
                )
            flat = np.frombuffer(raw, dtype=entry.little_endian)
    else:
        if entry.v2_contents is None:
            raise InvalidInput(f"input {name!r}: {tensor.datatype} travels only as raw contents")
        values = getattr(tensor.contents, entry.v2_contents)
        if dtype.kind == "O":
            flat = np.empty(len(values), dtype=object)
            flat[:] = list(values)
        else:
            flat = np.asarray(values, dtype=dtype)
    if flat.size != size:
        raise InvalidInput(
            f"input {name!r}: {flat.size} values do not match shape {list(shape)} ({size} values)"
        )
    return flat.reshape(shape)


def encode_outputs(
    outputs: dict[str, np.ndarray[Any, Any]], raw: bool
) -> tuple[list[pb.ModelInferResponse.InferOutputTensor], list[bytes]]:
    """Response outputs, and their raw contents when ``raw`` (else typed contents).

    Raw contents are used for every output or for none (the protocol pairs them by position),
    so a datatype that has no typed field (FP16) makes the whole answer raw.
    """
    answer = pb.ModelInferResponse()
    fill_outputs(answer, outputs, raw)
    return list(answer.outputs), list(answer.raw_output_contents)


def fill_outputs(
    answer: pb.ModelInferResponse, outputs: dict[str, np.ndarray[Any, Any]], raw: bool
) -> None:
    """:func:`encode_outputs` written into ``answer`` itself, which saves building each
    output tensor and copying it in."""
    typed = [(name, *_typed(name, value)) for name, value in outputs.items()]
    raw = raw or any(entry.v2_contents is None for _, _, entry in typed)
    tensors = answer.outputs
    for name, array, entry in typed:
        tensor = tensors.add(name=name, datatype=entry.v2, shape=array.shape)
        if not raw:
            flat = array.reshape(-1)
            field = getattr(tensor.contents, str(entry.v2_contents))
            field.extend([as_bytes(v) for v in flat] if entry.v2 == "BYTES" else flat.tolist())
    if raw:
        answer.raw_output_contents.extend([raw_bytes(array) for _, array, _ in typed])


def _typed(name: str, value: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], dtypes.DType]:
    array = np.asarray(value)
    entry = dtypes.for_array(array)
    if entry is None:
        raise InvalidInput(f"output {name!r} holds {array.dtype} values, which V2 cannot carry")
    return array, entry
