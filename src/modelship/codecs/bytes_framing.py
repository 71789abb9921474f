"""The Open Inference Protocol's binary form of a BYTES tensor: each element as a 4-byte
little-endian length followed by its bytes (what Triton's and KServe's clients write), the same
over REST's binary extension and gRPC's ``raw_*_contents``."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from modelship.errors import InvalidInput

__all__ = ["as_bytes", "join_bytes", "raw_bytes", "split_bytes"]

_LENGTH = struct.Struct("<I")


def split_bytes(name: str, data: bytes | memoryview) -> np.ndarray[Any, Any]:
    """The elements framed in ``data``, as a 1-D object array of ``bytes``."""
    items: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise InvalidInput(f"input {name!r}: BYTES data ends inside a length prefix")
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += 4
        if offset + length > len(data):
            raise InvalidInput(f"input {name!r}: a BYTES element runs past its data")
        items.append(bytes(data[offset : offset + length]))
        offset += length
    flat = np.empty(len(items), dtype=object)
    flat[:] = items
    return flat


def raw_bytes(array: np.ndarray[Any, Any]) -> bytes:
    """The raw little-endian row-major form of ``array`` (length-prefixed for BYTES)."""
    if array.dtype.kind in "OSU":
        return join_bytes(array)
    return np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()


def join_bytes(array: np.ndarray[Any, Any]) -> bytes:
    """The framed form of ``array``'s elements (``str`` elements are sent as UTF-8)."""
    parts = []
    for value in array.reshape(-1).tolist():
        data = as_bytes(value)
        parts.append(_LENGTH.pack(len(data)) + data)
    return b"".join(parts)


def as_bytes(value: Any) -> bytes:
    """One string-tensor element as bytes."""
    return value.encode() if isinstance(value, str) else bytes(value)
