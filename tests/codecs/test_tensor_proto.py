"""TensorProto <-> numpy, checked against TensorFlow's own make_tensor_proto and make_ndarray."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.codecs.tensor_proto import from_tensor_proto, to_tensor_proto
from modelship.errors import InvalidInput
from modelship.protos.tf_tensor_pb2 import TensorProto

tf = pytest.importorskip("tensorflow")

pytestmark = pytest.mark.tensorflow

VALUES = [
    np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
    np.arange(6, dtype=np.float64).reshape(3, 2) / 7,
    np.array([[1.5, -2.25]], dtype=np.float16),
    np.array([[-1, 2, 3]], dtype=np.int8),
    np.array([[-1, 2, 3]], dtype=np.int16),
    np.array([[-1, 2**31 - 1]], dtype=np.int32),
    np.array([[-1, 2**40]], dtype=np.int64),
    np.array([[0, 255]], dtype=np.uint8),
    np.array([[0, 65535]], dtype=np.uint16),
    np.array([[0, 2**32 - 1]], dtype=np.uint32),
    np.array([[0, 2**63]], dtype=np.uint64),
    np.array([[True, False]]),
    np.array([[b"a", b"\x00\xff"]], dtype=object),
]


def ours(tf_proto: object) -> TensorProto:
    return TensorProto.FromString(tf_proto.SerializeToString())  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: str(v.dtype))
def test_decodes_what_tensorflow_encodes(value: np.ndarray) -> None:
    packed = ours(tf.make_tensor_proto(value))  # tensor_content for numbers, string_val for bytes
    np.testing.assert_array_equal(from_tensor_proto("x", packed), value)
    if value.dtype != object:
        typed = ours(tf.make_tensor_proto(value.tolist(), dtype=tf.as_dtype(value.dtype)))
        np.testing.assert_array_equal(from_tensor_proto("x", typed), value)


@pytest.mark.parametrize("value", VALUES, ids=lambda v: str(v.dtype))
def test_tensorflow_decodes_what_we_encode(value: np.ndarray) -> None:
    proto = tf.make_tensor_proto(0)
    proto.ParseFromString(to_tensor_proto(value).SerializeToString())
    np.testing.assert_array_equal(tf.make_ndarray(proto), value)
    assert not proto.tensor_content


def test_fewer_values_repeat_the_last_one() -> None:
    proto = ours(tf.make_tensor_proto(1.0, dtype=tf.float32, shape=[2, 2]))
    np.testing.assert_array_equal(from_tensor_proto("x", proto), np.ones((2, 2), np.float32))


@pytest.mark.parametrize(
    ("proto", "words"),
    [
        (TensorProto(dtype=8), "DT_COMPLEX64"),
        (TensorProto(dtype=1, tensor_content=b"\x00" * 3), "tensor_content"),
        (TensorProto(dtype=1, float_val=[1, 2, 3]), "do not fit"),
    ],
)
def test_refusals_say_why(proto: TensorProto, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        from_tensor_proto("x", proto)
