"""Signatures and tensor specs: dtypes, row sizes and their JSON form in ``modelship.json``."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.signature import (
    CLASSIFY_METHOD,
    DEFAULT_SIGNATURE,
    PREDICT_METHOD,
    Signature,
    TensorSpec,
)


@pytest.mark.parametrize(
    ("dtype", "numpy"),
    [("float32", np.float32), ("int64", np.int64), ("bool", np.bool_), ("uint8", np.uint8),
     ("object", object), ("bytes", object)],
)  # fmt: skip
def test_numpy_dtype_reads_strings_as_object(dtype: str, numpy: type) -> None:
    assert TensorSpec(dtype, (-1,)).numpy_dtype == np.dtype(numpy)


@pytest.mark.parametrize(
    ("shape", "size"),
    [((-1, 784), 784), ((-1, 28, 28, 1), 784), ((-1,), 1), ((), 1), ((5, 3), 3),
     ((-1, -1, 3), None), ((-1, 3, -1), None), ((-1, 0), 0)],
)  # fmt: skip
def test_row_size_is_known_only_when_every_dimension_after_the_batch_is(
    shape: tuple[int, ...], size: int | None
) -> None:
    assert TensorSpec("float32", shape).row_size == size


def test_a_tensor_spec_round_trips_through_json() -> None:
    spec = TensorSpec("uint8", (-1, 224, 224, 3))
    assert spec.to_json() == {"dtype": "uint8", "shape": [-1, 224, 224, 3]}
    assert TensorSpec.from_json(spec.to_json()) == spec


def test_from_json_normalises_types() -> None:
    assert TensorSpec.from_json({"dtype": "float32", "shape": ["-1", 3.0]}) == TensorSpec(
        "float32", (-1, 3)
    )


def test_a_signature_round_trips_through_json_keeping_tensor_order() -> None:
    signature = Signature(
        inputs={"b": TensorSpec("float32", (-1, 2)), "a": TensorSpec("bytes", (-1,))},
        outputs={"y": TensorSpec("float64", (-1, 1)), "z": TensorSpec("int32", (-1,))},
        method_name=CLASSIFY_METHOD,
        name="classify",
    )
    data = signature.to_json()
    assert data == {
        "name": "classify",
        "method_name": CLASSIFY_METHOD,
        "inputs": {
            "b": {"dtype": "float32", "shape": [-1, 2]},
            "a": {"dtype": "bytes", "shape": [-1]},
        },
        "outputs": {
            "y": {"dtype": "float64", "shape": [-1, 1]},
            "z": {"dtype": "int32", "shape": [-1]},
        },
    }
    back = Signature.from_json(data)
    assert back == signature
    assert list(back.inputs) == ["b", "a"]


def test_from_json_defaults_to_the_predict_method_and_default_name() -> None:
    signature = Signature.from_json({"inputs": {}, "outputs": {}})
    assert signature.method_name == PREDICT_METHOD == "tensorflow/serving/predict"
    assert signature.name == DEFAULT_SIGNATURE == "serving_default"


def test_extra_is_runtime_detail_left_out_of_json() -> None:
    signature = Signature(inputs={}, outputs={}, extra={"tensor_names": {"inputs": {}}})
    assert "extra" not in signature.to_json()
    assert Signature.from_json(signature.to_json()).extra == {}


def test_a_signature_without_inputs_key_is_refused() -> None:
    with pytest.raises(KeyError, match="inputs"):
        Signature.from_json({"outputs": {}})
