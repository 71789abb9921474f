"""Examples (the input of Classify, Regress, MultiInference) to named arrays: ``tf.train.Example``
lists over gRPC, ``{"context"?, "examples": [{...}]}`` bodies over REST.
Each signature input is read from the feature of the same name, one row per example; the
context's features are shared by all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.codecs.tfs_json import to_array
from modelship.errors import InvalidInput
from modelship.protos import tf_example_pb2, tfs_prediction_service_pb2
from modelship.signature import Arrays, Signature

__all__ = ["examples_to_arrays", "parse_examples"]

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
