"""``tf.train.Example`` lists (the Input of Classify, Regress, MultiInference) to named arrays.

Each signature input is read from the feature of the same name: one row per example, the
context example's features shared by all, ``float_list``/``int64_list``/``bytes_list`` as
float32/int64/bytes. The dataplane then conforms the arrays to the signature as for Predict.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.errors import InvalidInput
from modelship.runtimes.base import Arrays
from modelship.serving.grpc.generated import tf_example_pb2, tfs_prediction_service_pb2
from modelship.signature import Signature

__all__ = ["examples_to_arrays"]

_KINDS: dict[str, np.dtype[Any]] = {
    "float_list": np.dtype(np.float32),
    "int64_list": np.dtype(np.int64),
    "bytes_list": np.dtype(object),
}


def examples_to_arrays(
    request_input: tfs_prediction_service_pb2.Input, signature: Signature
) -> Arrays:
    """Stack the examples' features into one array per signature input.

    Raises:
        InvalidInput: no examples, a missing feature, or examples whose feature lengths differ.
    """
    kind = request_input.WhichOneof("kind")
    if kind == "example_list":
        examples = list(request_input.example_list.examples)
        context = None
    elif kind == "example_list_with_context":
        examples = list(request_input.example_list_with_context.examples)
        context = request_input.example_list_with_context.context
    else:
        examples, context = [], None
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
