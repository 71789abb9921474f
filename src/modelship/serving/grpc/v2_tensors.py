"""Open Inference Protocol tensors over gRPC: ``raw_*_contents`` bytes or typed contents.

Raw contents are little-endian and row-major; a BYTES tensor's raw form is each element as a
4-byte little-endian length followed by its bytes (what Triton's clients write).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from modelship.errors import InvalidInput
from modelship.serving.grpc.generated import v2_grpc_service_pb2 as pb

__all__ = ["decode_input", "encode_outputs", "raw_bytes"]

# datatype -> (numpy dtype, typed contents field; None: only raw contents can carry it)
_DATATYPES: dict[str, tuple[np.dtype[Any], str | None]] = {
    "BOOL": (np.dtype(np.bool_), "bool_contents"),
    "UINT8": (np.dtype(np.uint8), "uint_contents"),
    "UINT16": (np.dtype(np.uint16), "uint_contents"),
    "UINT32": (np.dtype(np.uint32), "uint_contents"),
    "UINT64": (np.dtype(np.uint64), "uint64_contents"),
    "INT8": (np.dtype(np.int8), "int_contents"),
    "INT16": (np.dtype(np.int16), "int_contents"),
    "INT32": (np.dtype(np.int32), "int_contents"),
    "INT64": (np.dtype(np.int64), "int64_contents"),
    "FP16": (np.dtype(np.float16), None),
    "FP32": (np.dtype(np.float32), "fp32_contents"),
    "FP64": (np.dtype(np.float64), "fp64_contents"),
    "BYTES": (np.dtype(object), "bytes_contents"),
}
_BY_NUMPY = {dt: name for name, (dt, _) in _DATATYPES.items()}


def decode_input(
    tensor: pb.ModelInferRequest.InferInputTensor, raw: bytes | None
) -> np.ndarray[Any, Any]:
    """One request input from its raw bytes (if the request sent raw contents) or contents.

    Raises:
        InvalidInput: unknown datatype, negative dimensions, or data that does not fit the shape.
    """
    name = tensor.name
    if tensor.datatype not in _DATATYPES:
        raise InvalidInput(
            f"input {name!r}: datatype {tensor.datatype!r} is not supported; use one of "
            + ", ".join(_DATATYPES)
        )
    dtype, field = _DATATYPES[tensor.datatype]
    shape = tuple(int(d) for d in tensor.shape)
    if any(d < 0 for d in shape):
        raise InvalidInput(f"input {name!r}: shape {list(shape)} has a negative dimension")
    size = int(np.prod(shape)) if shape else 1
    if raw is not None:
        if dtype.kind == "O":
            flat = _split_bytes(name, raw)
        else:
            if len(raw) != size * dtype.itemsize:
                raise InvalidInput(
                    f"input {name!r}: {len(raw)} raw bytes, but shape {list(shape)} of "
                    f"{tensor.datatype} needs {size * dtype.itemsize}"
                )
            flat = np.frombuffer(raw, dtype=dtype.newbyteorder("<"))
    else:
        if field is None:
            raise InvalidInput(f"input {name!r}: {tensor.datatype} travels only as raw contents")
        values = getattr(tensor.contents, field)
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
    arrays = {name: _output_array(name, value) for name, value in outputs.items()}
    raw = raw or any(_DATATYPES[_BY_NUMPY[a.dtype]][1] is None for a in arrays.values())
    tensors = []
    for name, array in arrays.items():
        datatype = _BY_NUMPY[array.dtype]
        tensor = pb.ModelInferResponse.InferOutputTensor(
            name=name, datatype=datatype, shape=list(array.shape)
        )
        if not raw:
            flat = array.reshape(-1)
            field = getattr(tensor.contents, str(_DATATYPES[datatype][1]))
            field.extend([_as_bytes(v) for v in flat] if datatype == "BYTES" else flat.tolist())
        tensors.append(tensor)
    return tensors, [raw_bytes(a) for a in arrays.values()] if raw else []


def _output_array(name: str, value: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    array = np.asarray(value)
    if array.dtype.kind in "US":
        array = array.astype(object)
    if array.dtype not in _BY_NUMPY:
        raise InvalidInput(f"output {name!r} holds {array.dtype} values, which V2 cannot carry")
    return array


def raw_bytes(array: np.ndarray[Any, Any]) -> bytes:
    """The raw little-endian row-major form of ``array`` (length-prefixed for BYTES)."""
    if array.dtype.kind == "O":
        parts = []
        for value in array.reshape(-1):
            data = _as_bytes(value)
            parts.append(struct.pack("<I", len(data)) + data)
        return b"".join(parts)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def _as_bytes(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value)


def _split_bytes(name: str, raw: bytes) -> np.ndarray[Any, Any]:
    items: list[bytes] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidInput(f"input {name!r}: raw BYTES data ends inside a length prefix")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise InvalidInput(f"input {name!r}: a raw BYTES element runs past the data")
        items.append(raw[offset : offset + length])
        offset += length
    flat = np.empty(len(items), dtype=object)
    flat[:] = items
    return flat
