"""The V2 REST codec: binary tensors in and out."""

from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest

from modelship.codecs.v2_json import V2Request, decode_request, encode_response
from modelship.errors import InvalidInput


def test_binary_bytes_elements_are_length_prefixed() -> None:
    raw = b"".join(struct.pack("<I", len(s)) + s for s in (b"ab", b"", b"xyz"))
    header = json.dumps(
        {"inputs": [{"name": "s", "shape": [3], "datatype": "BYTES",
                     "parameters": {"binary_data_size": len(raw)}}]}
    ).encode()  # fmt: skip
    decoded = decode_request(header + raw, str(len(header)))
    assert decoded.inputs["s"].tolist() == [b"ab", b"", b"xyz"]
    body, length = encode_response(
        "m", "1", V2Request(inputs={}, all_binary=True), {"s": decoded.inputs["s"]}
    )
    assert length is not None
    assert body[length:] == raw


def test_numeric_binary_inputs_are_views_of_the_body() -> None:
    x = np.arange(6, dtype=np.float32)
    header = json.dumps(
        {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32",
                     "parameters": {"binary_data_size": 24}}]}
    ).encode()  # fmt: skip
    decoded = decode_request(header + x.tobytes(), str(len(header)))
    assert decoded.inputs["x"].shape == (2, 3)
    assert not decoded.inputs["x"].flags.owndata  # no copy of the body was made
    np.testing.assert_array_equal(decoded.inputs["x"].reshape(-1), x)


@pytest.mark.parametrize(
    ("tensor", "message"),
    [
        ({"name": "x", "shape": [2], "datatype": "FP33", "data": [1, 2]}, "datatype"),
        ({"name": "x", "shape": [3], "datatype": "FP32", "data": [1, 2]}, "needs 3 values"),
        ({"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}, "non-negative"),
        ({"name": "x", "shape": [1], "datatype": "FP32"}, "neither"),
    ],
)
def test_bad_tensors_are_invalid_input(tensor: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode_request(json.dumps({"inputs": [tensor]}).encode(), None)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({"inputs": [], "parameters": [1]}, '"parameters" must be a JSON object'),
        ({"inputs": [], "outputs": 3}, '"outputs" must be a list'),
        (
            {"inputs": [], "outputs": [{"name": "y", "parameters": [1]}]},
            "output 'y': parameters must be a JSON object",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "parameters": []}]},
            "input 'x': parameters must be a JSON object",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1], "data": [256]}]},
            "data must be uint8 values",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "INT64", "shape": [1], "data": [2**64]}]},
            "data must be int64 values",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [True, 1], "data": [1.0]}]},
            "shape must be a list of non-negative integers",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2**32, 2**32], "data": []}]},
            "needs 18446744073709551616 values, the data holds 0",
        ),
    ],
)
def test_hostile_headers_are_invalid_input_not_crashes(
    header: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)):
        # The stdlib writes integers past 64 bits, which orjson refuses to.
        decode_request(json.dumps(header).encode(), None)


@pytest.mark.parametrize("length", ["\u00b2", "1" * 40, "-1"])
def test_a_header_length_that_is_not_a_byte_count_is_invalid_input(length: str) -> None:
    with pytest.raises(InvalidInput, match="Inference-Header-Content-Length"):
        decode_request(b'{"inputs": []}', length)


@pytest.mark.parametrize(
    "data",
    [
        [1, 2.5, True, None],
        [1e300, -1e300, 16777217, 0.1],
        [2**63, 2**64 - 1, -(2**63), 3],
        [0.5, "1.5", 2.0, 3.0],
        [[0.5, 1.0], [2.0, 3.0]],
    ],
)
@pytest.mark.parametrize("datatype", ["FP16", "FP32", "FP64"])
def test_json_numbers_read_as_numpy_reads_them(data: list, datatype: str) -> None:
    body = {"inputs": [{"name": "x", "shape": [2, 2], "datatype": datatype, "data": data}]}
    dtype = {"FP16": np.float16, "FP32": np.float32, "FP64": np.float64}[datatype]
    with np.errstate(over="ignore"):
        expected = np.asarray(data, dtype=dtype).reshape(2, 2)
        got = decode_request(json.dumps(body).encode(), None).inputs["x"]
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("data", [[1.0, [2.0], 3.0, 4.0], [1.0, "abc", 3.0, 4.0], [1.0, {}, 2, 3]])
def test_json_data_that_is_not_numbers_is_refused(data: list) -> None:
    body = {"inputs": [{"name": "x", "shape": [4], "datatype": "FP32", "data": data}]}
    with pytest.raises(InvalidInput, match="data must be float32 values"):
        decode_request(json.dumps(body).encode(), None)
