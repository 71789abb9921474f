"""TF Serving's Classify and Regress REST bodies: ``{"context"?, "examples": [{...}]}``.

Each example maps feature names to values; ``context`` holds features shared by every example.
Features are matched to the signature's inputs by name and stacked along the batch dimension.
"""

from __future__ import annotations

from typing import Any

from modelship.errors import InvalidInput
from modelship.runtimes.base import Arrays
from modelship.serving.tfs_json import to_array
from modelship.signature import Signature

__all__ = ["parse_examples"]


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
