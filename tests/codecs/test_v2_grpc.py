"""Open Inference Protocol tensors: raw bytes as tritonclient writes them, and typed contents."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.codecs.v2_grpc import decode_input, encode_outputs, raw_bytes
from modelship.errors import InvalidInput
from modelship.protos import v2_grpc_service_pb2 as pb

utils = pytest.importorskip("tritonclient.utils")


def tensor(name: str, datatype: str, shape: list[int]) -> pb.ModelInferRequest.InferInputTensor:
    return pb.ModelInferRequest.InferInputTensor(name=name, datatype=datatype, shape=shape)


def test_raw_bytes_match_tritonclient() -> None:
    words = np.array([[b"ab", b""], [b"\x00\x01\x02", b"z"]], dtype=object)
    raw = utils.serialize_byte_tensor(words).item()
    assert raw_bytes(words) == raw
    np.testing.assert_array_equal(decode_input(tensor("w", "BYTES", [2, 2]), raw), words)
    halves = np.array([[0.5, -1.0]], dtype=np.float16)
    np.testing.assert_array_equal(
        decode_input(tensor("h", "FP16", [1, 2]), halves.tobytes()), halves
    )


def test_typed_contents_and_outputs() -> None:
    request = tensor("i", "INT64", [2, 2])
    request.contents.int64_contents.extend([1, 2, 3, 4])
    np.testing.assert_array_equal(decode_input(request, None), [[1, 2], [3, 4]])
    tensors, raw = encode_outputs({"y": np.array([[0.25, 1.0]], dtype=np.float32)}, raw=False)
    assert raw == []
    assert list(tensors[0].contents.fp32_contents) == [0.25, 1.0]
    # FP16 has no typed field: the whole answer goes raw, one entry per output.
    tensors, raw = encode_outputs(
        {"y": np.ones((1, 1), np.float32), "h": np.ones((1, 1), np.float16)}, raw=False
    )
    assert [t.datatype for t in tensors] == ["FP32", "FP16"]
    assert len(raw) == 2


@pytest.mark.parametrize(
    ("datatype", "shape", "raw", "words"),
    [
        ("BF16", [1], b"\x00\x00", "not supported"),
        ("FP32", [2], b"\x00" * 4, "needs 8"),
        ("FP32", [-1], b"", "negative"),
        ("BYTES", [1], b"\x05\x00\x00\x00ab", "runs past"),
    ],
)
def test_refusals_say_why(datatype: str, shape: list[int], raw: bytes, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        decode_input(tensor("x", datatype, shape), raw)
