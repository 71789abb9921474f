"""TensorFlow's ``TensorProto`` to numpy and back. Responses use the typed fields, as TF
Serving does, because many clients read ``outputs[name].float_val`` directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.codecs import dtypes
from modelship.codecs.bytes_framing import as_bytes
from modelship.codecs.limits import RequestLimits
from modelship.errors import InvalidInput
from modelship.protos import tf_tensor_pb2

__all__ = ["fill_tensor_proto", "from_tensor_proto", "to_tensor_proto"]

_DT = tf_tensor_pb2.DataType
_BY_ENUM: dict[int, dtypes.DType] = {_DT.Value(d.tf_name): d for d in dtypes.DTYPES}
_DT_VALUE: dict[str, tf_tensor_pb2.DataType] = {
    d.tf_name: _DT.Value(d.tf_name) for d in dtypes.DTYPES
}
_DEFAULT_LIMITS = RequestLimits()


def from_tensor_proto(
    name: str, proto: tf_tensor_pb2.TensorProto, limits: RequestLimits = _DEFAULT_LIMITS
) -> np.ndarray[Any, Any]:
    """Decode one request tensor (``tensor_content`` without copying, or the typed fields);
    its shape is checked against ``limits`` before TensorFlow's fill rule expands it."""
    entry = _BY_ENUM.get(proto.dtype)
    if entry is None:
        dtype_name = _DT.Name(proto.dtype) if proto.dtype in _DT.values() else str(proto.dtype)
        raise InvalidInput(
            f"input {name!r}: dtype {dtype_name} is not supported; send one of "
            + ", ".join(d.tf_name for d in dtypes.DTYPES)
        )
    dtype = entry.numpy
    shape = _shape(name, proto.tensor_shape)
    size = limits.check_tensor(name, shape, dtype)
    if proto.tensor_content:
        if dtype.kind == "O":
            raise InvalidInput(f"input {name!r}: DT_STRING values go in string_val")
        content = proto.tensor_content
        if len(content) != size * dtype.itemsize:
            raise InvalidInput(
                f"input {name!r}: tensor_content holds {len(content)} bytes, but shape "
                f"{list(shape)} of {entry.tf_name} needs {size * dtype.itemsize}"
            )
        return np.frombuffer(content, dtype=entry.little_endian).reshape(shape)
    values = getattr(proto, entry.tensor_field)
    if dtype.kind == "O":
        flat: np.ndarray[Any, Any] = np.empty(len(values), dtype=object)
        flat[:] = list(values)
    elif entry.tensor_field == "half_val":
        flat = np.asarray(values, dtype=np.uint16).view(np.float16)
    else:
        flat = np.asarray(values, dtype=dtype)
    return _fill(name, flat, shape, size, dtype)


def to_tensor_proto(array: np.ndarray[Any, Any]) -> tf_tensor_pb2.TensorProto:
    """Encode one response tensor in the typed field of its dtype."""
    proto = tf_tensor_pb2.TensorProto()
    fill_tensor_proto(proto, array)
    return proto


def fill_tensor_proto(proto: tf_tensor_pb2.TensorProto, array: np.ndarray[Any, Any]) -> None:
    """:func:`to_tensor_proto` into an empty ``proto`` (e.g. a response's map entry), which
    saves building a message and copying it in."""
    array = np.asarray(array)
    entry = dtypes.for_array(array)
    if entry is None:
        raise InvalidInput(f"the model returned {array.dtype} values, which TensorProto lacks")
    proto.dtype = _DT_VALUE[entry.tf_name]
    dims = proto.tensor_shape.dim
    for size in array.shape:
        dims.add(size=size)
    flat = array.reshape(-1)
    if entry.numpy.kind == "O":
        proto.string_val.extend(as_bytes(v) for v in flat.tolist())
    elif entry.tensor_field == "half_val":
        proto.half_val.extend(flat.view(np.uint16).tolist())
    else:
        getattr(proto, entry.tensor_field).extend(flat.tolist())


def _shape(name: str, shape: tf_tensor_pb2.TensorShapeProto) -> tuple[int, ...]:
    if shape.unknown_rank:
        raise InvalidInput(f"input {name!r}: the tensor's shape must be known (unknown_rank)")
    dims = tuple(int(d.size) for d in shape.dim)
    if any(d < 0 for d in dims):
        raise InvalidInput(f"input {name!r}: dimensions must be known, got {list(dims)}")
    return dims


def _fill(
    name: str, flat: np.ndarray[Any, Any], shape: tuple[int, ...], size: int, dtype: np.dtype[Any]
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
