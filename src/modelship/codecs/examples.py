"""Examples (the input of Classify, Regress, MultiInference) to named arrays: ``tf.train.Example``
lists over gRPC, ``{"context"?, "examples": [{...}]}`` bodies over REST.

Two contracts. TF Serving's, for a signature whose method is classify or regress and whose one
input is a string tensor: each example (with the context's features) is serialized into that
input, and the graph parses it. modelship's own, for any other signature: each input is read
from the feature of the same name, one row per example; the context's features are shared.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import numpy as np

from modelship.codecs.tfs_json import to_array
from modelship.errors import InvalidInput
from modelship.protos import tf_example_pb2, tfs_prediction_service_pb2
from modelship.signature import CLASSIFY_METHOD, REGRESS_METHOD, Arrays, Signature

__all__ = ["examples_to_arrays", "parse_examples", "serialized_input"]

_KINDS: dict[str, np.dtype[Any]] = {
    "float_list": np.dtype(np.float32),
    "int64_list": np.dtype(np.int64),
    "bytes_list": np.dtype(object),
}


def examples_to_arrays(
    request_input: tfs_prediction_service_pb2.Input, signature: Signature
) -> Arrays:
    """Stack the examples' features into one array per signature input."""
    kind = request_input.WhichOneof("kind")
    examples, context = [], None
    if kind == "example_list":
        examples = list(request_input.example_list.examples)
    elif kind == "example_list_with_context":
        examples = list(request_input.example_list_with_context.examples)
        context = request_input.example_list_with_context.context
    if not examples:
        raise InvalidInput("Input is empty: send at least one example")
    serialized = serialized_input(signature)
    if serialized is not None:
        return {serialized: _serialize(examples, context)}
    arrays: Arrays = {}
    for name in signature.inputs:
        rows = [_feature(name, index, example, context) for index, example in enumerate(examples)]
        lengths = {row.size for row in rows}
        if len(lengths) > 1:
            raise InvalidInput(
                f"feature {name!r} has a different number of values across examples: "
                f"{sorted(lengths)}"
            )
        dtypes = {row.dtype for row in rows}
        if len(dtypes) > 1:
            raise InvalidInput(f"feature {name!r} mixes value kinds across examples")
        arrays[name] = np.stack(rows)
    return arrays


def serialized_input(signature: Signature) -> str | None:
    """The input TF Serving's contract serializes examples into: the one string input of a
    classify or regress signature; None for any other signature."""
    if signature.method_name not in (CLASSIFY_METHOD, REGRESS_METHOD):
        return None
    if len(signature.inputs) != 1:
        return None
    ((name, spec),) = signature.inputs.items()
    return name if spec.dtype in ("object", "bytes") else None


def _serialize(
    examples: list[tf_example_pb2.Example], context: tf_example_pb2.Example | None
) -> np.ndarray[Any, Any]:
    rows: np.ndarray[Any, Any] = np.empty(len(examples), dtype=object)
    for index, example in enumerate(examples):
        if context is not None:
            merged = tf_example_pb2.Example()
            merged.CopyFrom(context)
            merged.MergeFrom(example)  # the example's own features win over the context's
            example = merged
        rows[index] = example.SerializeToString()
    return rows


def _feature(
    name: str, index: int, example: tf_example_pb2.Example, context: tf_example_pb2.Example | None
) -> np.ndarray[Any, Any]:
    features = example.features.feature
    if name in features:
        feature = features[name]
    elif context is not None and name in context.features.feature:
        feature = context.features.feature[name]
    else:
        raise InvalidInput(f"example {index} has no feature {name!r}, which the signature takes")
    kind = feature.WhichOneof("kind")
    if kind is None:
        raise InvalidInput(f"example {index}: feature {name!r} holds no value list")
    values = getattr(feature, kind).value
    if kind == "bytes_list":
        row: np.ndarray[Any, Any] = np.empty(len(values), dtype=object)
        row[:] = list(values)
        return row
    return np.asarray(values, dtype=_KINDS[kind])


def parse_examples(body: Any, signature: Signature) -> Arrays:
    """The named input arrays a classify or regress body describes."""
    if not isinstance(body, dict):
        raise InvalidInput('the body must be a JSON object such as {"examples": [{...}]}')
    examples = body.get("examples")
    if not isinstance(examples, list) or not examples:
        raise InvalidInput('"examples" must be a non-empty list of objects, one per example')
    context = body.get("context", {})
    if not isinstance(context, dict):
        raise InvalidInput('"context" must be an object of features shared by every example')
    serialized = serialized_input(signature)
    if serialized is not None:
        rows: np.ndarray[Any, Any] = np.empty(len(examples), dtype=object)
        for i, example in enumerate(examples):
            if not isinstance(example, dict):
                raise InvalidInput(f"example {i} is not an object of features")
            rows[i] = _json_example(i, {**context, **example}).SerializeToString()
        return {serialized: rows}
    columns: dict[str, list[Any]] = {name: [] for name in signature.inputs}
    for i, example in enumerate(examples):
        if not isinstance(example, dict):
            raise InvalidInput(f"example {i} is not an object of features")
        features = {**context, **example}
        missing = [name for name in signature.inputs if name not in features]
        if missing:
            raise InvalidInput(
                f"example {i} lacks feature(s) {', '.join(missing)}; the signature takes "
                f"{', '.join(signature.inputs)}"
            )
        for name in signature.inputs:
            columns[name].append(features[name])
    return {name: to_array(name, values, signature) for name, values in columns.items()}


def _json_example(index: int, features: dict[str, Any]) -> tf_example_pb2.Example:
    """A JSON example as TF Serving's REST API reads one: each feature a value or a list of
    them; integers make an int64 list, any float a float list, strings and ``{"b64": ...}``
    a bytes list."""
    example = tf_example_pb2.Example()
    for name, value in features.items():
        values = value if isinstance(value, list) else [value]
        feature = example.features.feature[name]
        where = f"example {index}, feature {name!r}"
        if all(isinstance(v, str | dict) for v in values):
            feature.bytes_list.value.extend(_bytes(where, v) for v in values)
        elif all(type(v) is int for v in values):
            feature.int64_list.value.extend(_int64(where, v) for v in values)
        elif all(type(v) in (int, float) for v in values):
            feature.float_list.value.extend(values)
        else:
            raise InvalidInput(
                f'{where}: values must all be numbers or all strings (or {{"b64": ...}}); '
                f"got {value!r}"
            )
    return example


def _bytes(where: str, value: str | dict[str, Any]) -> bytes:
    if isinstance(value, str):
        return value.encode()
    encoded = value.get("b64")
    if set(value) != {"b64"} or not isinstance(encoded, str):
        raise InvalidInput(f'{where}: an object value must be {{"b64": "<base64>"}}')
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"{where}: invalid base64: {exc}") from None


def _int64(where: str, value: int) -> int:
    if not -(2**63) <= value < 2**63:
        raise InvalidInput(f"{where}: {value} does not fit an int64")
    return value
