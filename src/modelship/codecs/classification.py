"""The Open Inference Protocol's classification extension as Triton answers it: a requested
output with ``classification: k`` comes back as BYTES ``score:index[:label]``, the ``k``
highest scores of each row, highest first."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modelship.errors import InvalidInput
from modelship.signature import Arrays

__all__ = ["classification_count", "classify_output", "classify_outputs"]


def classification_count(name: str, value: Any) -> int:
    """The class count a request asks of output ``name``, checked to be a positive integer."""
    if type(value) is not int or value < 1:
        raise InvalidInput(
            f"output {name!r}: classification must be a positive number of classes; got {value!r}"
        )
    return value


def classify_output(
    name: str, scores: np.ndarray[Any, Any], count: int, labels: Sequence[str]
) -> np.ndarray[Any, Any]:
    """``scores`` shaped ``[..., classes]`` as ``[..., count]`` strings ``score:index`` (and
    ``:label`` where the version lists class labels), best first."""
    if scores.ndim == 0 or scores.dtype.kind not in "fiub":
        raise InvalidInput(
            f"output {name!r} of type {scores.dtype} shaped {list(scores.shape)} holds no "
            "class scores to classify"
        )
    classes = scores.shape[-1]
    if count > classes:
        raise InvalidInput(
            f"output {name!r}: classification asks for {count} classes; it has {classes}"
        )
    rows = scores.reshape(-1, classes)
    # A stable sort keeps the lower index first among equal scores, as a top-k does.
    order = np.argsort(-rows.astype(np.float64), axis=1, kind="stable")[:, :count]
    named = len(labels) == classes
    show = "{:f}".format if scores.dtype.kind == "f" else "{:d}".format
    texts = np.empty(order.shape, dtype=object)
    for r, row in enumerate(order.tolist()):
        for c, index in enumerate(row):
            text = f"{show(rows[r, index].item())}:{index}"
            texts[r, c] = (f"{text}:{labels[index]}" if named else text).encode()
    return texts.reshape((*scores.shape[:-1], count))


def classify_outputs(outputs: Arrays, counts: Mapping[str, int], labels: Sequence[str]) -> Arrays:
    """``outputs`` with each output that ``counts`` names classified (the others unchanged)."""
    return {
        name: classify_output(name, array, counts[name], labels) if name in counts else array
        for name, array in outputs.items()
    }
