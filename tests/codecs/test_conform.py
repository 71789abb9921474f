from __future__ import annotations

import re

import numpy as np
import pytest

from modelship.codecs.conform import ConformPlan, conform_inputs
from modelship.errors import InvalidInput
from modelship.signature import Signature, TensorSpec

FLAT = Signature({"images": TensorSpec("float32", (-1, 784))}, {})
TWO = Signature({"a": TensorSpec("float32", (-1, 2)), "b": TensorSpec("float32", (-1, 2))}, {})


def test_images_are_flattened_to_the_signature() -> None:
    out = conform_inputs(FLAT, {"images": np.zeros((2, 28, 28), dtype=np.float64)})
    assert out["images"].shape == (2, 784)
    assert out["images"].dtype == np.float32


def test_wrong_size_names_expected_and_got() -> None:
    with pytest.raises(InvalidInput, match="expected 784 values per instance, got 28 values"):
        conform_inputs(FLAT, {"images": np.zeros((1, 28))})


def test_missing_input_is_named() -> None:
    with pytest.raises(InvalidInput, match="missing input\\(s\\) b"):
        conform_inputs(TWO, {"a": np.zeros((1, 2))})


def test_unknown_input_is_named() -> None:
    with pytest.raises(InvalidInput, match="unknown input\\(s\\) c"):
        conform_inputs(TWO, {"a": np.zeros((1, 2)), "b": np.zeros((1, 2)), "c": np.zeros(1)})


def test_batch_sizes_must_agree() -> None:
    with pytest.raises(InvalidInput, match="0-th"):
        conform_inputs(TWO, {"a": np.zeros((1, 2)), "b": np.zeros((2, 2))})


def test_strings_are_refused_for_numbers() -> None:
    with pytest.raises(InvalidInput, match="numbers"):
        conform_inputs(FLAT, {"images": np.array([["x"] * 784])})


INT_INPUT = Signature(inputs={"ids": TensorSpec("int64", (-1, 2))}, outputs={})
SMALL_INT_INPUT = Signature(inputs={"ids": TensorSpec("int32", (-1, 2))}, outputs={})
FLOAT_INPUT = Signature(inputs={"x": TensorSpec("float32", (-1, 2))}, outputs={})


@pytest.mark.parametrize(
    ("signature", "value", "words"),
    [
        (INT_INPUT, np.array([[1.0, 3.5]]), "3.5 is not one"),
        (INT_INPUT, np.array([[1.0, np.nan]]), "nan is not one"),
        (INT_INPUT, np.array([[1.0, 1e20]]), "1e+20 is not one"),
        (SMALL_INT_INPUT, np.array([[1, 2**40]]), f"{2**40} is not one"),
        (SMALL_INT_INPUT, np.array([[1, -(2**40)]]), "-2147483648..2147483647"),
    ],
)
def test_a_value_an_integer_input_would_change_is_refused(
    signature: Signature, value: np.ndarray, words: str
) -> None:
    name = next(iter(signature.inputs))
    with pytest.raises(InvalidInput, match=re.escape(words)):
        conform_inputs(signature, {name: value})


def test_whole_numbers_are_cast_to_an_integer_input() -> None:
    out = conform_inputs(INT_INPUT, {"ids": np.array([[1.0, -3.0]])})
    assert out["ids"].dtype == np.int64
    assert out["ids"].tolist() == [[1, -3]]


@pytest.mark.parametrize(
    ("signature", "dtype"),
    [
        (INT_INPUT, np.int32),
        (INT_INPUT, np.uint8),
        (SMALL_INT_INPUT, np.int16),
        (FLOAT_INPUT, np.float16),
    ],
)
def test_a_declared_datatype_that_widens_without_loss_is_accepted(
    signature: Signature, dtype: type
) -> None:
    name = next(iter(signature.inputs))
    out = conform_inputs(signature, {name: np.ones((1, 2), dtype)}, declared=True)
    assert out[name].dtype == signature.inputs[name].numpy_dtype
    assert out[name].tolist() == [[1, 1]]


@pytest.mark.parametrize(
    ("signature", "dtype", "words"),
    [
        (INT_INPUT, np.float32, "takes INT64 (int64), the request sent FP32"),
        (SMALL_INT_INPUT, np.int64, "takes INT32 (int32), the request sent INT64"),
        (INT_INPUT, np.uint64, "the request sent UINT64"),
        (FLOAT_INPUT, np.float64, "takes FP32 (float32), the request sent FP64"),
        (FLOAT_INPUT, np.int32, "the request sent INT32"),
        (FLOAT_INPUT, np.bool_, "the request sent BOOL"),
    ],
)
def test_a_declared_datatype_that_differs_is_refused(
    signature: Signature, dtype: type, words: str
) -> None:
    name = next(iter(signature.inputs))
    with pytest.raises(InvalidInput, match=re.escape(words)):
        conform_inputs(signature, {name: np.ones((1, 2), dtype)}, declared=True)


def test_a_fixed_batch_takes_exactly_that_many_examples() -> None:
    signature = Signature(inputs={"x": TensorSpec("float32", (1, 2))}, outputs={})
    assert signature.fixed_batch == 1
    assert conform_inputs(signature, {"x": np.ones((1, 2), np.float32)})["x"].shape == (1, 2)
    with pytest.raises(InvalidInput, match="fixed batch of 1 example"):
        conform_inputs(signature, {"x": np.ones((2, 2), np.float32)})
    assert FLOAT_INPUT.fixed_batch is None


FIXED = Signature({"x": TensorSpec("int64", (2, 3))}, {})
ANY_RANK = Signature({"x": TensorSpec("float32", (), unknown_rank=True)}, {})
OPEN = Signature({"x": TensorSpec("float32", (-1, -1, 2))}, {})

CASES = [
    (FLAT, {"images": np.zeros((2, 784), np.float32)}),
    (FLAT, {"images": np.zeros((2, 28, 28), np.float32)}),
    (FLAT, {"images": np.zeros((2, 784), np.float64)}),
    (FLAT, {"images": np.zeros((0, 784), np.float32)}),
    (FLAT, {"images": np.zeros((), np.float32)}),
    (FLAT, {"images": np.zeros((1, 28), np.float32)}),
    (FLAT, {"pictures": np.zeros((1, 784), np.float32)}),
    (TWO, {"a": np.zeros((1, 2), np.float32), "b": np.zeros((1, 2), np.float32)}),
    (TWO, {"a": np.zeros((1, 2), np.float32), "b": np.zeros((2, 2), np.float32)}),
    (FIXED, {"x": np.zeros((2, 3), np.int64)}),
    (FIXED, {"x": np.zeros((3, 3), np.int64)}),
    (FIXED, {"x": np.full((2, 3), 3.5)}),
    (ANY_RANK, {"x": np.zeros((4, 2, 2, 2), np.float32)}),
    (ANY_RANK, {"x": np.zeros((0,), np.float32)}),
    (OPEN, {"x": np.zeros((1, 5, 2), np.float32)}),
    (OPEN, {"x": np.zeros((1, 5, 3), np.float32)}),
    (OPEN, {"x": np.zeros((1, 10), np.float32)}),
]


@pytest.mark.parametrize(("signature", "inputs"), CASES)
@pytest.mark.parametrize("declared", [False, True])
def test_a_plan_conforms_as_conform_inputs_does(
    signature: Signature, inputs: dict[str, np.ndarray], declared: bool
) -> None:
    plan = ConformPlan(signature)
    try:
        expected = conform_inputs(signature, inputs, declared)
    except InvalidInput as exc:
        with pytest.raises(InvalidInput, match=re.escape(exc.message)):
            plan(inputs, declared)
        return
    got = plan(inputs, declared)
    assert list(got) == list(expected)
    for name, array in expected.items():
        assert got[name].dtype == array.dtype
        np.testing.assert_array_equal(got[name], array)


def test_a_plan_passes_an_input_that_already_fits_as_it_is() -> None:
    array = np.zeros((2, 784), np.float32)
    assert ConformPlan(FLAT)({"images": array})["images"] is array
