"""Top-k class names and scores beside a classifier's probabilities, for a predict request's
``"parameters": {"top_k": 3}``: the two tensors TF Serving's classify signatures return.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.errors import InvalidInput
from modelship.runtimes.base import Arrays

__all__ = ["add_top_k", "requested_top_k"]


def requested_top_k(body: Any) -> int | None:
    """The ``parameters.top_k`` of a request body, validated; ``None`` when not asked for."""
    if not isinstance(body, dict) or "parameters" not in body:
        return None
    parameters = body["parameters"]
    if not isinstance(parameters, dict):
        raise InvalidInput('"parameters" must be an object such as {"top_k": 3}')
    unknown = sorted(set(parameters) - {"top_k"})
    if unknown:
        raise InvalidInput(f"unknown parameter(s) {', '.join(unknown)}; supported: top_k")
    k = parameters.get("top_k")
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise InvalidInput(f'"top_k" must be a positive integer, got {k!r}')
    return k


def add_top_k(outputs: Arrays, labels: list[str], k: int) -> Arrays:
    """``outputs`` plus ``classes`` and ``scores`` for the ``k`` highest probabilities.

    The probabilities are the output named ``probabilities``, or the only output; it must be
    ``batch x classes``. Without labels, class names are the indices as strings.
    """
    if "probabilities" in outputs:
        probs = outputs["probabilities"]
    elif len(outputs) == 1:
        probs = next(iter(outputs.values()))
    else:
        raise InvalidInput("top_k needs a model whose output is one batch x classes tensor")
    if probs.ndim != 2:
        raise InvalidInput(
            f"top_k needs a batch x classes output, this model returns shape {probs.shape}"
        )
    n_classes = probs.shape[1]
    k = min(k, n_classes)
    # argsort of the negated values keeps the best first; stable, so ties keep label order.
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    names = labels if len(labels) == n_classes else [str(i) for i in range(n_classes)]
    classes = np.asarray([[names[i].encode() for i in row] for row in order], dtype=object)
    scores = np.take_along_axis(probs, order, axis=1).astype(np.float32)
    return {**outputs, "classes": classes, "scores": scores}
