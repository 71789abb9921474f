"""TensorFlow's ``TensorProto`` to numpy and back.

Requests may carry elements packed row-major in ``tensor_content`` (what ``tf.make_tensor_proto``
writes for numeric arrays; decoded here without copying) or in the typed repeated fields
(``float_val``, ``int_val``, ``string_val``...). Responses use the typed fields, as TensorFlow
Serving does, because many clients read ``outputs[name].float_val`` directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.errors import InvalidInput
from modelship.serving.grpc.generated import tf_tensor_pb2

__all__ = ["from_tensor_proto", "to_tensor_proto"]

_DT = tf_tensor_pb2.DataType

# DataType -> (numpy dtype, the typed field that holds its elements)
_BY_ENUM: dict[tf_tensor_pb2.DataType, tuple[np.dtype[Any], str]] = {
    _DT.DT_FLOAT: (np.dtype(np.float32), "float_val"),
    _DT.DT_DOUBLE: (np.dtype(np.float64), "double_val"),
    _DT.DT_HALF: (np.dtype(np.float16), "half_val"),
    _DT.DT_INT8: (np.dtype(np.int8), "int_val"),
    _DT.DT_INT16: (np.dtype(np.int16), "int_val"),
    _DT.DT_INT32: (np.dtype(np.int32), "int_val"),
    _DT.DT_INT64: (np.dtype(np.int64), "int64_val"),
    _DT.DT_UINT8: (np.dtype(np.uint8), "int_val"),
    _DT.DT_UINT16: (np.dtype(np.uint16), "int_val"),
    _DT.DT_UINT32: (np.dtype(np.uint32), "uint32_val"),
    _DT.DT_UINT64: (np.dtype(np.uint64), "uint64_val"),
    _DT.DT_BOOL: (np.dtype(np.bool_), "bool_val"),
    _DT.DT_STRING: (np.dtype(object), "string_val"),
}
_BY_NUMPY: dict[np.dtype[Any], tf_tensor_pb2.DataType] = {
    dt: enum for enum, (dt, _) in _BY_ENUM.items()
}


def from_tensor_proto(name: str, proto: tf_tensor_pb2.TensorProto) -> np.ndarray[Any, Any]:
    """Decode one request tensor.

    Raises:
        InvalidInput: an unsupported dtype, an unknown or negative dimension, or a number of
            elements that does not fit the shape.
    """
    if proto.dtype not in _BY_ENUM:
        dtype_name = _DT.Name(proto.dtype) if proto.dtype in _DT.values() else str(proto.dtype)
        raise InvalidInput(
            f"input {name!r}: dtype {dtype_name} is not supported; send one of "
            + ", ".join(_DT.Name(e) for e in _BY_ENUM)
        )
    dtype, field = _BY_ENUM[proto.dtype]
    shape = _shape(name, proto.tensor_shape)
    size = int(np.prod(shape)) if shape else 1
    if proto.tensor_content:
        if dtype.kind == "O":
            raise InvalidInput(f"input {name!r}: DT_STRING values go in string_val")
        content = proto.tensor_content
        if len(content) != size * dtype.itemsize:
            raise InvalidInput(
                f"input {name!r}: tensor_content holds {len(content)} bytes, but shape "
                f"{list(shape)} of {_DT.Name(proto.dtype)} needs {size * dtype.itemsize}"
            )
        return np.frombuffer(content, dtype=dtype.newbyteorder("<")).reshape(shape)
    values = getattr(proto, field)
    if dtype.kind == "O":
        flat: np.ndarray[Any, Any] = np.empty(len(values), dtype=object)
        flat[:] = list(values)
    elif field == "half_val":
        # Halves travel as their 16-bit patterns in int32 slots.
        flat = np.asarray(values, dtype=np.uint16).view(np.float16)
    else:
        flat = np.asarray(values, dtype=dtype)
    return _fill(name, flat, shape, size, dtype)


def to_tensor_proto(array: np.ndarray[Any, Any]) -> tf_tensor_pb2.TensorProto:
    """Encode one response tensor in the typed field of its dtype."""
    array = np.asarray(array)
    if array.dtype.kind in "US":
        array = array.astype(object)
    enum = _BY_NUMPY.get(array.dtype)
    if enum is None:
        raise InvalidInput(f"the model returned {array.dtype} values, which TensorProto lacks")
    proto = tf_tensor_pb2.TensorProto(dtype=enum)
    proto.tensor_shape.dim.extend(tf_tensor_pb2.TensorShapeProto.Dim(size=d) for d in array.shape)
    field = _BY_ENUM[enum][1]
    flat = array.reshape(-1)
    if array.dtype.kind == "O":
        proto.string_val.extend(v.encode() if isinstance(v, str) else bytes(v) for v in flat)
    elif field == "half_val":
        proto.half_val.extend(flat.view(np.uint16).tolist())
    else:
        getattr(proto, field).extend(flat.tolist())
    return proto


def _shape(name: str, shape: tf_tensor_pb2.TensorShapeProto) -> tuple[int, ...]:
    if shape.unknown_rank:
        raise InvalidInput(f"input {name!r}: the tensor's shape must be known (unknown_rank)")
    dims = tuple(int(d.size) for d in shape.dim)
    if any(d < 0 for d in dims):
        raise InvalidInput(f"input {name!r}: dimensions must be known, got {list(dims)}")
    return dims


def _fill(
    name: str,
    flat: np.ndarray[Any, Any],
    shape: tuple[int, ...],
    size: int,
    dtype: np.dtype[Any],
) -> np.ndarray[Any, Any]:
    if flat.size == size:
        return flat.reshape(shape)
    if flat.size > size:
        raise InvalidInput(
            f"input {name!r}: {flat.size} values do not fit shape {list(shape)} ({size} values)"
        )
    # TensorFlow's rule: fewer values than the shape needs repeat the last one (zeros if none).
    filled = np.empty(size, dtype=dtype)
    filled[: flat.size] = flat
    filled[flat.size :] = flat[-1] if flat.size else (b"" if dtype.kind == "O" else 0)
    return filled.reshape(shape)
