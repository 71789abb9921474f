"""What one request may declare: checked from shapes and headers, before anything is allocated,
so a few bytes on the wire cannot claim gigabytes (TensorProto's fill rule, a huge shape)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelship.errors import InvalidInput, RequestTooLarge

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "DEFAULT_MAX_IMAGE_REQUEST_BYTES",
    "DEFAULT_MAX_IMAGE_SIDE",
    "DEFAULT_MAX_REQUEST_ROWS",
    "DEFAULT_MAX_TENSOR_BYTES",
    "MAX_DIMS",
    "RequestLimits",
    "element_count",
]

# Rows (examples) of one request: a large bulk call, yet its activations stay bounded.
DEFAULT_MAX_REQUEST_ROWS = 65_536
# Decoded input bytes of one request: four times the default body limit, which a JSON body of
# 64 MiB cannot exceed ("0," per int64 value), while a 42-byte fill-rule message can.
DEFAULT_MAX_TENSOR_BYTES = 256 * 1024 * 1024
# 40 megapixels: bigger than any phone photo, small enough that one request cannot take
# gigabytes of memory (a decoded RGB pixel takes 3 bytes, plus the resize's working copy).
DEFAULT_MAX_IMAGE_PIXELS = 40_000_000
# Width and height each: WebP's own limit; a 1 x 40,000,000 strip is within the pixel limit
# but decodes row by row into buffers as wide as the image.
DEFAULT_MAX_IMAGE_SIDE = 16_384
# Decoded bytes of all of one request's images together: three images at the pixel limit.
DEFAULT_MAX_IMAGE_REQUEST_BYTES = 512 * 1024 * 1024
# Dimensions of a tensor: numpy's own limit is 64; no model takes more than a handful.
MAX_DIMS = 32
# What an object (string) element costs in an array: a pointer.
_OBJECT_BYTES = 8


def element_count(name: str, shape: Sequence[int]) -> int:
    """The number of values ``shape`` holds, in Python integers (numpy's product wraps
    around: ``[2**32, 2**32]`` would be 0 values)."""
    if len(shape) > MAX_DIMS:
        raise InvalidInput(
            f"input {name!r}: {len(shape)} dimensions; tensors have at most {MAX_DIMS}"
        )
    return math.prod(shape)


@dataclass(frozen=True)
class RequestLimits:
    """The largest request the server decodes and runs; each refusal names its flag."""

    max_request_rows: int = DEFAULT_MAX_REQUEST_ROWS
    max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES

    def check_tensor(self, name: str, shape: Sequence[int], dtype: np.dtype[Any]) -> int:
        """The element count of a tensor of ``shape``; refused before it is allocated when it
        would hold more rows or bytes than the limits allow."""
        count = element_count(name, shape)
        self._check_rows(name, shape[0] if shape else 1)
        self._check_bytes(f"input {name!r}", list(shape), count * _itemsize(dtype))
        return count

    def check_inputs(self, inputs: Mapping[str, np.ndarray[Any, Any]]) -> None:
        """Every decoded input of one request: rows each, and their bytes together (an object
        array's ``nbytes`` counts its pointers). On every request: kept to a few attribute
        reads."""
        total = 0
        for name, array in inputs.items():
            if array.ndim and array.shape[0] > self.max_request_rows:
                self._check_rows(name, array.shape[0])
            total += array.nbytes
        if total > self.max_tensor_bytes:
            self._check_bytes("the request's inputs", None, total)

    def _check_rows(self, name: str, rows: int) -> None:
        if rows > self.max_request_rows:
            raise RequestTooLarge(
                f"input {name!r} has {rows} rows, more than the limit of "
                f"{self.max_request_rows} per request; split it into several requests or "
                "raise --max_request_rows"
            )

    def _check_bytes(self, what: str, shape: list[int] | None, size: int) -> None:
        if size > self.max_tensor_bytes:
            shown = f" (shape {shape})" if shape is not None else ""
            raise RequestTooLarge(
                f"{what}{shown} would take {size} bytes decoded, more than the limit of "
                f"{self.max_tensor_bytes}; split the request or raise --max_tensor_bytes"
            )


def _itemsize(dtype: np.dtype[Any]) -> int:
    return _OBJECT_BYTES if dtype.kind == "O" else dtype.itemsize
