"""Examples to named arrays: ``tf.train.Example`` lists (gRPC) and ``{"examples": [...]}`` bodies
(REST), one row per example, context features shared by all."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelship.codecs.examples import examples_to_arrays, parse_examples, serialized_input
from modelship.errors import InvalidInput
from modelship.protos import tf_example_pb2, tfs_prediction_service_pb2
from modelship.signature import REGRESS_METHOD, Signature, TensorSpec

SIGNATURE = Signature(
    inputs={"x": TensorSpec("float32", (-1, 2)), "n": TensorSpec("int64", (-1, 1))},
    outputs={"y": TensorSpec("float32", (-1, 1))},
)
WORDS = Signature(
    inputs={"text": TensorSpec("bytes", (-1, 1))}, outputs={"y": TensorSpec("float32", (-1,))}
)


def _example(**features: Any) -> tf_example_pb2.Example:
    example = tf_example_pb2.Example()
    for name, values in features.items():
        feature = example.features.feature[name]
        if isinstance(values[0], float):
            feature.float_list.value.extend(values)
        elif isinstance(values[0], int):
            feature.int64_list.value.extend(values)
        else:
            feature.bytes_list.value.extend(values)
    return example


def _input(
    *examples: tf_example_pb2.Example, context: tf_example_pb2.Example | None = None
) -> tfs_prediction_service_pb2.Input:
    request = tfs_prediction_service_pb2.Input()
    if context is None:
        request.example_list.examples.extend(examples)
    else:
        request.example_list_with_context.examples.extend(examples)
        request.example_list_with_context.context.CopyFrom(context)
    return request


# --- gRPC: tf.train.Example lists ---


def test_each_example_is_one_row_of_each_input() -> None:
    arrays = examples_to_arrays(
        _input(_example(x=[1.0, 2.0], n=[3]), _example(x=[4.0, 5.0], n=[6])), SIGNATURE
    )
    assert set(arrays) == {"x", "n"}
    assert arrays["x"].dtype == np.float32
    np.testing.assert_array_equal(arrays["x"], [[1.0, 2.0], [4.0, 5.0]])
    assert arrays["n"].dtype == np.int64
    np.testing.assert_array_equal(arrays["n"], [[3], [6]])


def test_context_features_are_shared_and_an_example_overrides_them() -> None:
    request = _input(_example(x=[1.0, 2.0]), _example(x=[3.0, 4.0], n=[9]), context=_example(n=[7]))
    arrays = examples_to_arrays(request, SIGNATURE)
    np.testing.assert_array_equal(arrays["x"], [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(arrays["n"], [[7], [9]])


def test_bytes_lists_become_object_arrays_of_bytes() -> None:
    arrays = examples_to_arrays(_input(_example(text=[b"hi"]), _example(text=[b"\x00"])), WORDS)
    assert arrays["text"].dtype == object
    assert arrays["text"].tolist() == [[b"hi"], [b"\x00"]]


def test_features_the_signature_does_not_take_are_ignored() -> None:
    arrays = examples_to_arrays(_input(_example(text=[b"a"], extra=[1.0])), WORDS)
    assert list(arrays) == ["text"]


@pytest.mark.parametrize(
    "request_input",
    [tfs_prediction_service_pb2.Input(), _input(), _input(context=_example(n=[1]))],
    ids=["no-kind", "empty-list", "empty-list-with-context"],
)
def test_no_examples_is_refused(request_input: tfs_prediction_service_pb2.Input) -> None:
    with pytest.raises(InvalidInput, match="Input is empty: send at least one example"):
        examples_to_arrays(request_input, SIGNATURE)


def test_a_missing_feature_names_the_example_and_the_feature() -> None:
    request = _input(_example(x=[1.0, 2.0], n=[1]), _example(x=[1.0, 2.0]))
    with pytest.raises(InvalidInput, match="example 1 has no feature 'n', which the signature"):
        examples_to_arrays(request, SIGNATURE)


def test_a_feature_without_a_value_list_is_refused() -> None:
    example = _example(n=[1])
    example.features.feature["x"].SetInParent()
    with pytest.raises(InvalidInput, match="example 0: feature 'x' holds no value list"):
        examples_to_arrays(_input(example), SIGNATURE)


def test_features_of_different_lengths_are_refused() -> None:
    request = _input(_example(x=[1.0, 2.0], n=[1]), _example(x=[1.0], n=[1]))
    with pytest.raises(InvalidInput, match=r"feature 'x' has a different number .*: \[1, 2\]"):
        examples_to_arrays(request, SIGNATURE)


def test_features_of_different_kinds_are_refused() -> None:
    request = _input(_example(x=[1.0, 2.0], n=[1]), _example(x=[1, 2], n=[1]))
    with pytest.raises(InvalidInput, match="feature 'x' mixes value kinds across examples"):
        examples_to_arrays(request, SIGNATURE)


# --- REST: {"context"?, "examples": [...]} ---


def test_a_body_becomes_one_column_per_input_in_the_signature_dtype() -> None:
    body = {"examples": [{"x": [1, 2], "n": [3]}, {"x": [4, 5], "n": [6]}]}
    arrays = parse_examples(body, SIGNATURE)
    assert arrays["x"].dtype == np.float32
    np.testing.assert_array_equal(arrays["x"], [[1.0, 2.0], [4.0, 5.0]])
    assert arrays["n"].dtype == np.int64
    np.testing.assert_array_equal(arrays["n"], [[3], [6]])


def test_a_body_context_is_shared_and_examples_override_it() -> None:
    body = {"context": {"n": [7]}, "examples": [{"x": [1, 2]}, {"x": [3, 4], "n": [8]}]}
    np.testing.assert_array_equal(parse_examples(body, SIGNATURE)["n"], [[7], [8]])


def test_a_body_with_strings_and_b64_gives_bytes() -> None:
    body = {"examples": [{"text": ["hi"]}, {"text": [{"b64": "AP8="}]}]}
    assert parse_examples(body, WORDS)["text"].tolist() == [[b"hi"], [b"\x00\xff"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([{"x": [1, 2]}], "the body must be a JSON object"),
        ({}, '"examples" must be a non-empty list'),
        ({"examples": []}, '"examples" must be a non-empty list'),
        ({"examples": {"x": [1, 2]}}, '"examples" must be a non-empty list'),
        ({"examples": [{"x": [1, 2], "n": [1]}], "context": [1]}, '"context" must be an object'),
        ({"examples": [{"x": [1, 2], "n": [1]}, 3]}, "example 1 is not an object of features"),
        ({"examples": [{"x": [1, 2]}]}, "example 0 lacks feature.s. n; the signature takes x, n"),
        ({"examples": [{}]}, "example 0 lacks feature.s. x, n;"),
        ({"examples": [{"x": ["a", "b"], "n": [1]}]}, "input 'x' must hold float32 numbers"),
        ({"examples": [{"x": [1, 2], "n": [1]}, {"x": [1], "n": [1]}]}, "input 'x' is ragged"),
    ],
)
def test_bad_bodies_are_refused_with_what_is_wrong(body: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_examples(body, SIGNATURE)


# TF Serving's contract: a classify/regress signature taking serialized examples.
SERIALIZED = Signature(
    inputs={"inputs": TensorSpec("object", (), unknown_rank=True)},
    outputs={"outputs": TensorSpec("float32", (-1,))},
    method_name=REGRESS_METHOD,
)


def _parsed(row: bytes) -> tf_example_pb2.Example:
    example = tf_example_pb2.Example()
    example.ParseFromString(row)
    return example


def test_serialized_input_only_for_tf_servings_contract() -> None:
    assert serialized_input(SERIALIZED) == "inputs"
    predict = Signature(inputs=SERIALIZED.inputs, outputs=SERIALIZED.outputs)
    assert serialized_input(predict) is None
    numeric = Signature(
        inputs={"x": TensorSpec("float32", (-1, 1))},
        outputs=SERIALIZED.outputs,
        method_name=REGRESS_METHOD,
    )
    assert serialized_input(numeric) is None


def test_json_examples_are_serialized_with_the_context() -> None:
    body = {
        "context": {"lang": "en", "x": 9.0},
        "examples": [{"x": 1.0}, {"ids": [1, 2], "image": {"b64": "aGk="}}],
    }
    (rows,) = parse_examples(body, SERIALIZED).values()
    first, second = (_parsed(row) for row in rows)
    assert list(first.features.feature["x"].float_list.value) == [1.0]
    assert list(first.features.feature["lang"].bytes_list.value) == [b"en"]
    assert list(second.features.feature["x"].float_list.value) == [9.0]
    assert list(second.features.feature["ids"].int64_list.value) == [1, 2]
    assert list(second.features.feature["image"].bytes_list.value) == [b"hi"]


@pytest.mark.parametrize(
    ("feature", "words"),
    [
        ([1, "a"], "all be numbers or all strings"),
        ({"b64": "%%"}, "invalid base64"),
        ({"text": "x"}, '"b64"'),
        (2**70, "does not fit an int64"),
    ],
)
def test_json_features_that_make_no_example_are_refused(feature: object, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_examples({"examples": [{"f": feature}]}, SERIALIZED)


def test_grpc_examples_are_serialized_with_the_context_under_them() -> None:
    request_input = tfs_prediction_service_pb2.Input()
    listed = request_input.example_list_with_context
    listed.context.features.feature["x"].float_list.value.append(5.0)
    listed.examples.add().features.feature["x"].float_list.value.append(1.0)
    listed.examples.add()
    rows = examples_to_arrays(request_input, SERIALIZED)["inputs"]
    assert [list(_parsed(r).features.feature["x"].float_list.value) for r in rows] == [[1.0], [5.0]]
