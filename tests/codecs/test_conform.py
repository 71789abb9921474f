from __future__ import annotations

import numpy as np
import pytest

from modelship.codecs.conform import conform_inputs
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
