"""Checks and coerces request tensors against a signature, whatever protocol they came from;
messages say what was expected and what arrived."""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.errors import InvalidInput
from modelship.signature import Arrays, Signature, TensorSpec

__all__ = ["batch_size", "conform_inputs"]


def conform_inputs(signature: Signature, inputs: Arrays) -> Arrays:
    """Return ``inputs`` cast and shaped as ``signature`` declares.

    An example whose element count matches the declared shape is reshaped (a 28x28 image for a
    784-wide input and vice versa); anything else is refused with both shapes in the message.
    """
    expected = signature.inputs
    if inputs.keys() != expected.keys():
        _refuse_names(signature, inputs)
    out = {name: _conform(name, expected[name], inputs[name]) for name in expected}
    if len(out) > 1:
        batch_size(out)
    return out


def _refuse_names(signature: Signature, inputs: Arrays) -> None:
    missing = [name for name in signature.inputs if name not in inputs]
    unknown = [name for name in inputs if name not in signature.inputs]
    for kind, names in (("missing", missing), ("unknown", unknown)):
        if names:
            raise InvalidInput(
                f"{kind} input(s) {', '.join(sorted(names))}; the signature takes "
                f"{', '.join(signature.inputs)}"
            )


def batch_size(inputs: Arrays) -> int:
    """The shared 0-th dimension of ``inputs``; refuses inputs that disagree."""
    sizes = {name: (arr.shape[0] if arr.ndim else 1) for name, arr in inputs.items()}
    distinct = set(sizes.values())
    if len(distinct) > 1:
        detail = ", ".join(f"{k}: {v}" for k, v in sizes.items())
        raise InvalidInput(f"inputs must share their 0-th (batch) dimension; got {detail}")
    return distinct.pop() if distinct else 0


def _conform(name: str, spec: TensorSpec, value: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    want = spec.numpy_dtype
    if value.dtype != want:
        value = _cast(name, value, want)
    if value.ndim == 0:
        raise InvalidInput(f"input {name!r} must have a batch dimension; got a scalar")
    if value.shape[0] == 0:
        raise InvalidInput(f"input {name!r} is empty: send at least one example")
    if len(spec.shape) == 0:
        return value
    dims = spec.shape[1:]
    got = value.shape[1:]
    if len(got) == len(dims) and all(d < 0 or d == g for d, g in zip(dims, got, strict=True)):
        return value
    row_size = spec.row_size
    per_example = int(np.prod(got)) if got else 1
    if row_size is not None and per_example == row_size:
        return value.reshape((value.shape[0], *dims))
    expected = _describe(row_size, dims)
    got_text = _describe(per_example, got)
    hint = "; did you send the whole image?" if row_size and per_example < row_size else ""
    raise InvalidInput(f"input {name!r}: expected {expected} per instance, got {got_text}{hint}")


def _describe(count: int | None, dims: tuple[int, ...]) -> str:
    shape = "x".join("?" if d < 0 else str(d) for d in dims)
    if count is None:
        return f"shape {shape}"
    return f"{count} values" + (f" ({shape})" if len(dims) > 1 else "")


def _cast(name: str, value: np.ndarray[Any, Any], want: np.dtype[Any]) -> np.ndarray[Any, Any]:
    if value.dtype.kind == "O" and want.kind != "O":
        raise InvalidInput(
            f"input {name!r} holds values that are not {want.name} numbers "
            "(strings, nulls or nested objects?)"
        )
    if value.dtype.kind in "US" and want.kind != "O":
        raise InvalidInput(f"input {name!r} must hold {want.name} numbers, not strings")
    try:
        return value.astype(want, copy=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"input {name!r} cannot be read as {want.name}: {exc}") from exc
