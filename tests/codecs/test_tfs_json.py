from __future__ import annotations

import base64

import numpy as np
import orjson
import pytest

from modelship.codecs.tfs_json import decode_body, encode_outputs, parse_predict_body
from modelship.errors import InvalidInput
from modelship.signature import Signature, TensorSpec

ONE = Signature({"x": TensorSpec("float32", (-1, 3))}, {"y": TensorSpec("float32", (-1, 2))})
TWO = Signature(
    {"a": TensorSpec("float32", (-1, 2)), "b": TensorSpec("int64", (-1,))},
    {"y": TensorSpec("float32", (-1,))},
)
BYTES = Signature({"s": TensorSpec("object", (-1,))}, {"y": TensorSpec("float32", (-1,))})


def test_row_format_single_input() -> None:
    arrays, row = parse_predict_body({"instances": [[1, 2, 3], [4, 5, 6]]}, ONE)
    assert row is True
    assert arrays["x"].dtype == np.float32
    np.testing.assert_array_equal(arrays["x"], [[1, 2, 3], [4, 5, 6]])


def test_row_format_named_inputs_become_columns() -> None:
    body = {"instances": [{"a": [1, 2], "b": 7}, {"a": [3, 4], "b": 8}]}
    arrays, _ = parse_predict_body(body, TWO)
    np.testing.assert_array_equal(arrays["a"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(arrays["b"], [7, 8])
    assert arrays["b"].dtype == np.int64


def test_columnar_format() -> None:
    arrays, row = parse_predict_body({"inputs": {"a": [[1, 2]], "b": [5]}}, TWO)
    assert row is False
    np.testing.assert_array_equal(arrays["b"], [5])
    arrays, _ = parse_predict_body({"inputs": [[1, 2, 3]]}, ONE)
    assert arrays["x"].shape == (1, 3)


def test_b64_values_decode_to_bytes() -> None:
    payload = base64.b64encode(b"\x00\xffraw").decode()
    arrays, _ = parse_predict_body({"instances": [{"b64": payload}, "text"]}, BYTES)
    assert arrays["s"].tolist() == [b"\x00\xffraw", b"text"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ([1, 2], "JSON object"),
        ({"instances": [[1, 2, 3]], "inputs": [[1, 2, 3]]}, "not both"),
        ({"signature_name": "x"}, "missing"),
        ({"instances": []}, "empty"),
        ({"instances": [[1, 2, 3], [4, 5]]}, "ragged"),
        ({"instances": [["a", "b", "c"]]}, "numbers"),
        ({"instances": {"x": 1}}, "must be a list"),
        ({"instances": [{"b64": "!!notbase64"}]}, "number"),
    ],
)
def test_bad_bodies_are_invalid_input(body: object, fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        parse_predict_body(body, ONE)


def test_bad_base64_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not base64"):
        parse_predict_body({"instances": [{"b64": "!!notbase64"}]}, BYTES)


def test_nan_and_infinity_are_accepted() -> None:
    body = decode_body(b'{"instances": [[NaN, Infinity, -Infinity]]}')
    arrays, _ = parse_predict_body(body, ONE)
    assert np.isnan(arrays["x"][0, 0])
    assert np.isinf(arrays["x"][0, 1:]).all()


def _deep(depth: int, leaf: bytes) -> bytes:
    return b"[" * depth + leaf + b"]" * depth


# Each body once as orjson reads it and once with a NaN elsewhere, which sends it to the
# stdlib parser (that recurses per level and keeps integers of any length).
@pytest.mark.parametrize("nan", [b"", b', "n": NaN'])
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"instances": ' + _deep(100_000, b"") + b"%s}", "not valid JSON"),
        (b'{"instances": [[' + b"9" * 400 + b", 1, 2]]%s}", "not valid JSON"),
        (b'{"instances": [[' + b"9" * 5000 + b", 1, 2]]%s}", "not valid JSON"),
        (b'{"inputs": {"zz": ' + _deep(70, b'"a"') + b"}%s}", "more than 32 deep"),
        (b'{"inputs": {"zz": ' + _deep(1000, b'"a"') + b"}%s}", "deep"),
        (b'{"inputs": {"zz": ' + _deep(70, b"1") + b"}%s}", "more than 32 deep"),
        (b'{"inputs": {"zz": [["a"], ' + _deep(40, b'"b"') + b"]}%s}", "ragged"),
        (b'{"inputs": {"s": ["\\ud800"]}%s}', "not valid"),
        (b'{"instances": [["\\ud800", 1, 2]]%s}', "not valid|must hold float32|naming them"),
    ],
)
def test_hostile_bodies_are_invalid_input(body: bytes, fragment: str, nan: bytes) -> None:
    signature = Signature({**ONE.inputs, **BYTES.inputs}, ONE.outputs)
    with pytest.raises(InvalidInput, match=fragment):
        parse_predict_body(decode_body(body % nan), signature)


def test_integers_beyond_64_bits_read_as_doubles_as_orjson_reads_them() -> None:
    for body in (b"[18446744073709551616, 1]", b"[18446744073709551616, NaN]"):
        assert decode_body(body)[0] == pytest.approx(1.8446744073709552e19)
    assert decode_body(b"[18446744073709551615, NaN]")[0] == 2**64 - 1


def test_not_json_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not valid JSON"):
        decode_body(b"{nope")


def test_encode_row_and_columnar() -> None:
    one = {"y": np.array([[0.5, 0.25]], dtype=np.float32)}
    assert orjson.loads(encode_outputs(one, True)) == {"predictions": [[0.5, 0.25]]}
    assert orjson.loads(encode_outputs(one, False)) == {"outputs": [[0.5, 0.25]]}
    two = {"p": np.array([1.0, 2.0], dtype=np.float32), "q": np.array([3, 4])}
    assert orjson.loads(encode_outputs(two, True)) == {
        "predictions": [{"p": 1.0, "q": 3}, {"p": 2.0, "q": 4}]
    }
    assert orjson.loads(encode_outputs(two, False)) == {"outputs": {"p": [1.0, 2.0], "q": [3, 4]}}


def test_encode_bytes_outputs_and_nonfinite() -> None:
    out = encode_outputs({"img_bytes": np.array([b"\x01\x02"], dtype=object)}, True)
    assert orjson.loads(out) == {"predictions": [{"b64": "AQI="}]}
    text = encode_outputs({"y": np.array([np.nan, np.inf], dtype=np.float32)}, True)
    assert text == b'{"predictions":[NaN,Infinity]}'


ROWS_OF_NUMBERS = [
    [[1, 2.5, True]],
    [[None, 1.0, 2.0]],
    [[2.0, "1.5", 3.0]],
    [[1e300, -1e300, 0.0]],
    [[2**63, 2**64 - 1, -(2**63)]],
    [[16777217, 0.1, float("nan")]],
    [[0.5, 1.0, 2.0], [3.0, 4.0, 5.0], [6, 7, 8]],
]


@pytest.mark.parametrize("instances", ROWS_OF_NUMBERS)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_rows_of_numbers_read_as_numpy_reads_them(instances: list, dtype: str) -> None:
    signature = Signature({"x": TensorSpec(dtype, (-1, 3))}, {})
    with np.errstate(over="ignore"):
        expected = np.asarray(instances, dtype=dtype)
        (got,) = parse_predict_body({"instances": instances}, signature)[0].values()
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize(
    ("instances", "message"),
    [
        ([[1.0, [2.0], 3.0]], "ragged"),
        ([[1.0, 2.0, 3.0], [1.0, 2.0]], "ragged"),
        ([[1.0, 2.0, 3.0], 4.0], "ragged|must hold numbers"),
        ([[1.0, "abc", 3.0]], "must hold numbers"),
        ([[1.0, {"b64": "AA=="}, 3.0]], "must hold numbers"),
    ],
)
def test_rows_that_are_not_numbers_are_refused_as_before(instances: list, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_predict_body({"instances": instances}, ONE)
