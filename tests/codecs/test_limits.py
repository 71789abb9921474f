"""Request limits: shapes are checked before anything is allocated, in Python integers, by the
gRPC tensor decoders that expand few bytes into many (TensorFlow's fill rule)."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.codecs.limits import MAX_DIMS, RequestLimits, element_count
from modelship.codecs.tensor_proto import from_tensor_proto
from modelship.codecs.v2_grpc import decode_input
from modelship.errors import InvalidInput, RequestTooLarge
from modelship.protos import tf_tensor_pb2
from modelship.protos import v2_grpc_service_pb2 as pb

LIMITS = RequestLimits(max_request_rows=100, max_tensor_bytes=10_000)


def tensor_proto(shape: list[int], values: list[float]) -> tf_tensor_pb2.TensorProto:
    proto = tf_tensor_pb2.TensorProto(dtype=tf_tensor_pb2.DT_FLOAT, float_val=values)
    proto.tensor_shape.dim.extend(tf_tensor_pb2.TensorShapeProto.Dim(size=d) for d in shape)
    return proto


def infer_input(shape: list[int], values: list[float]) -> pb.ModelInferRequest.InferInputTensor:
    tensor = pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP32", shape=shape)
    tensor.contents.fp32_contents.extend(values)
    return tensor


def test_element_count_does_not_wrap_around() -> None:
    assert element_count("x", [2**32, 2**32]) == 2**64
    assert int(np.prod([2**32, 2**32])) == 0  # what numpy's product would have said
    with pytest.raises(InvalidInput, match=f"at most {MAX_DIMS}"):
        element_count("x", [1] * (MAX_DIMS + 1))


def test_the_fill_rule_is_bounded_before_it_allocates() -> None:
    filled = from_tensor_proto("x", tensor_proto([4, 25], [1.0, 2.0]), LIMITS)
    assert filled.shape == (4, 25)
    assert filled.reshape(-1)[-1] == 2.0  # the last value repeats, as TensorFlow does
    # 250,000 x 784 float32 from one value: 784 MB had the shape been trusted.
    with pytest.raises(RequestTooLarge, match=r"250000 rows.*--max_request_rows"):
        from_tensor_proto("x", tensor_proto([250_000, 784], [1.0]), RequestLimits())
    with pytest.raises(RequestTooLarge, match=r"784000000 bytes decoded.*--max_tensor_bytes"):
        from_tensor_proto("x", tensor_proto([1, 196_000_000], [1.0]), RequestLimits())
    with pytest.raises(RequestTooLarge, match=r"101 rows.*--max_request_rows"):
        from_tensor_proto("x", tensor_proto([101, 1], [1.0]), LIMITS)
    with pytest.raises(RequestTooLarge):
        from_tensor_proto("x", tensor_proto([2**40, 784], [1.0]))


@pytest.mark.parametrize("shape", [[2**32, 2**32], [2**62, 4], [2**40, 784]])
def test_overflowing_shapes_are_refused_by_both_grpc_decoders(shape: list[int]) -> None:
    with pytest.raises(InvalidInput) as caught:
        from_tensor_proto("x", tensor_proto(shape, [1.0]), LIMITS)
    assert caught.value.code == "RESOURCE_EXHAUSTED"
    with pytest.raises(InvalidInput) as caught:
        decode_input(infer_input(shape, [1.0]), None, LIMITS)
    assert caught.value.code == "RESOURCE_EXHAUSTED"


def test_a_v2_shape_of_zero_elements_still_has_to_match() -> None:
    with pytest.raises(InvalidInput, match="do not match shape"):
        decode_input(infer_input([0, 4], [1.0]), None, LIMITS)
    assert decode_input(infer_input([2, 2], [1, 2, 3, 4]), None, LIMITS).shape == (2, 2)


def test_check_inputs_sums_the_bytes_of_every_input() -> None:
    small = np.zeros((10, 100), dtype=np.float32)  # 4,000 bytes each
    LIMITS.check_inputs({"a": small, "b": small})
    with pytest.raises(RequestTooLarge, match="the request's inputs would take 12000 bytes"):
        LIMITS.check_inputs({"a": small, "b": small, "c": small})
    with pytest.raises(RequestTooLarge, match="input 'w' has 101 rows"):
        LIMITS.check_inputs({"w": np.zeros(101, dtype=np.int8)})
