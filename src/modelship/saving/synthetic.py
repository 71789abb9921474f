"""Example inputs made up from a signature, for checking an export when the user gave none."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.signature import Arrays, Signature, TensorSpec

__all__ = ["synthetic_inputs"]

# Two rows: a batch of one would not show a model that mixes up rows.
_ROWS = 2


def _one(spec: TensorSpec, rng: np.random.Generator) -> np.ndarray[Any, Any]:
    shape = tuple(d if d >= 0 else (_ROWS if i == 0 else 4) for i, d in enumerate(spec.shape))
    kind = spec.numpy_dtype.kind
    if kind == "f":
        return rng.random(shape).astype(spec.numpy_dtype)
    if kind in "iu":
        # Small non-negative values: index inputs (embeddings, lookups) take them.
        return rng.integers(0, 2, size=shape).astype(spec.numpy_dtype)
    if kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    return np.full(shape, "a", dtype=object)


def synthetic_inputs(signature: Signature, seed: int = 0) -> Arrays:
    """One array per input of ``signature``: uniform floats in [0, 1), integers 0 and 1, the
    string ``"a"``; variable dimensions take 2 rows (batch) or 4."""
    rng = np.random.default_rng(seed)
    return {name: _one(spec, rng) for name, spec in signature.inputs.items()}
