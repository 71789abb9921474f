"""The one dtype table: numpy dtypes, TensorFlow's ``DataType`` and the Open Inference
Protocol's datatypes, with the message fields that carry each on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DTYPES",
    "DType",
    "by_numpy",
    "by_tf_name",
    "by_v2",
    "for_array",
    "tf_dtype_name",
    "v2_datatype",
]


@dataclass(frozen=True)
class DType:
    """One element type as each format names it: numpy (``object`` for strings), TensorFlow
    (``DT_FLOAT``), V2 (``FP32``), the ``TensorProto`` field (``float_val``) and the
    ``InferTensorContents`` field (None where only raw bytes carry it)."""

    numpy: np.dtype[Any]
    tf_name: str
    v2: str
    tensor_field: str
    v2_contents: str | None

    @property
    def little_endian(self) -> np.dtype[Any]:
        """The dtype of this type's raw wire bytes (little-endian, as every format sends)."""
        return self.numpy.newbyteorder("<")


DTYPES: tuple[DType, ...] = (
    DType(np.dtype(np.float32), "DT_FLOAT", "FP32", "float_val", "fp32_contents"),
    DType(np.dtype(np.float64), "DT_DOUBLE", "FP64", "double_val", "fp64_contents"),
    # Halves travel as 16-bit patterns in TensorProto's int32 slots, and only raw over V2.
    DType(np.dtype(np.float16), "DT_HALF", "FP16", "half_val", None),
    DType(np.dtype(np.int8), "DT_INT8", "INT8", "int_val", "int_contents"),
    DType(np.dtype(np.int16), "DT_INT16", "INT16", "int_val", "int_contents"),
    DType(np.dtype(np.int32), "DT_INT32", "INT32", "int_val", "int_contents"),
    DType(np.dtype(np.int64), "DT_INT64", "INT64", "int64_val", "int64_contents"),
    DType(np.dtype(np.uint8), "DT_UINT8", "UINT8", "int_val", "uint_contents"),
    DType(np.dtype(np.uint16), "DT_UINT16", "UINT16", "int_val", "uint_contents"),
    DType(np.dtype(np.uint32), "DT_UINT32", "UINT32", "uint32_val", "uint_contents"),
    DType(np.dtype(np.uint64), "DT_UINT64", "UINT64", "uint64_val", "uint64_contents"),
    DType(np.dtype(np.bool_), "DT_BOOL", "BOOL", "bool_val", "bool_contents"),
    DType(np.dtype(object), "DT_STRING", "BYTES", "string_val", "bytes_contents"),
)

_BY_NUMPY = {d.numpy: d for d in DTYPES}
_BY_V2 = {d.v2: d for d in DTYPES}
_BY_TF = {d.tf_name: d for d in DTYPES}
_STRING = _BY_V2["BYTES"]


def by_numpy(name: str) -> DType | None:
    """The entry for a numpy dtype name as signatures write it (``bytes`` means strings)."""
    if name in ("object", "bytes"):
        return _STRING
    try:
        return _BY_NUMPY.get(np.dtype(name))
    except TypeError:
        return None


def by_v2(datatype: str) -> DType | None:
    """The entry for an Open Inference Protocol datatype (``FP32``)."""
    return _BY_V2.get(datatype)


def by_tf_name(name: str) -> DType | None:
    """The entry for a TensorFlow ``DataType`` enum name (``DT_FLOAT``)."""
    return _BY_TF.get(name)


def for_array(array: np.ndarray[Any, Any]) -> DType | None:
    """The entry for an array's elements; numpy strings count as bytes; None if no format
    carries them (complex numbers, datetimes)."""
    if array.dtype.kind in "OSU":
        return _STRING
    return _BY_NUMPY.get(array.dtype.newbyteorder("="))


def tf_dtype_name(dtype: str) -> str:
    """TF's DataType enum name (``DT_FLOAT``) for a numpy dtype name; ``DT_INVALID`` if none."""
    entry = by_numpy(dtype)
    return entry.tf_name if entry is not None else "DT_INVALID"


def v2_datatype(dtype: str) -> str:
    """The Open Inference Protocol datatype (``FP32``) for a numpy dtype name."""
    entry = by_numpy(dtype)
    return entry.v2 if entry is not None else "BYTES"
