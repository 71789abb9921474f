"""Checks and coerces request tensors against a signature, whatever protocol they came from;
messages say what was expected and what arrived.

Values are never changed silently: a cast to an integer type refuses a value it would truncate
or wrap (``3.5``, ``1e20`` for ``int32``). A tensor whose datatype the client declared (the Open
Inference Protocol's ``FP32``, ``INT64``...) must carry the signature's datatype, or one that
widens to it without loss: a narrower integer of the same signedness, an unsigned integer into
a wider signed one, a narrower float (``INT32`` into ``INT64``, ``UINT8`` into ``INT16``,
``FP16`` into ``FP32``). Anything else (``FP32`` for ``INT64``, ``FP64`` for ``FP32``) is
refused, as Triton refuses it. Untyped JSON numbers (TF Serving's REST API) are cast.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from modelship.codecs.dtypes import v2_datatype
from modelship.errors import InvalidInput
from modelship.signature import Arrays, Signature, TensorSpec

__all__ = ["ConformPlan", "batch_size", "conform_inputs", "exact_cast"]


def conform_inputs(signature: Signature, inputs: Arrays, declared: bool = False) -> Arrays:
    """Return ``inputs`` cast and shaped as ``signature`` declares.

    An example whose element count matches the declared shape is reshaped (a 28x28 image for a
    784-wide input and vice versa); anything else is refused with both shapes in the message.
    ``declared``: the client named each input's datatype, which must then match (see above).
    A model exported with a fixed batch size takes exactly that many examples.
    """
    expected = signature.inputs
    if inputs.keys() != expected.keys():
        _refuse_names(signature, inputs)
    out = {name: _conform(name, expected[name], inputs[name], declared) for name in expected}
    if len(out) > 1:
        batch_size(out)
    return out


class ConformPlan:
    """:func:`conform_inputs` for one signature, with what it reads from the signature read
    once: an input that already has the signature's dtype and shape passes after a few
    comparisons; anything else takes :func:`conform_inputs`'s own checks, so the answers and
    errors are the same."""

    __slots__ = ("_checks", "_names", "signature")

    def __init__(self, signature: Signature) -> None:
        self.signature = signature
        self._names = signature.inputs.keys()
        # Per input: name, spec, dtype, rank (None: any), fixed batch (0: any), the shape
        # after the batch dimension when every one of its dimensions is fixed (None: compare
        # one by one).
        self._checks = [
            (
                name,
                spec,
                spec.numpy_dtype,
                len(spec.shape) or None,
                max(spec.shape[0], 0) if spec.shape else 0,
                spec.shape[1:] if all(d >= 0 for d in spec.shape[1:]) else None,
            )
            for name, spec in signature.inputs.items()
        ]

    def __call__(self, inputs: Arrays, declared: bool = False) -> Arrays:
        """``inputs`` cast and shaped as the signature declares (see :func:`conform_inputs`)."""
        if inputs.keys() != self._names:
            _refuse_names(self.signature, inputs)
        out = {}
        for name, spec, want, rank, fixed, dims in self._checks:
            value = inputs[name]
            shape = value.shape
            if (
                value.dtype != want
                or not shape
                or not shape[0]
                or (rank is not None and len(shape) != rank)
                or (fixed and shape[0] != fixed)
                or (dims is not None and shape[1:] != dims)
                or (dims is None and rank is not None)
            ):
                value = _conform(name, spec, value, declared)
            out[name] = value
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


def _conform(
    name: str, spec: TensorSpec, value: np.ndarray[Any, Any], declared: bool
) -> np.ndarray[Any, Any]:
    want = spec.numpy_dtype
    if value.dtype != want:
        if declared:
            _require_widening(name, value.dtype, want)
        value = _cast(name, value, want)
    if value.ndim == 0:
        raise InvalidInput(f"input {name!r} must have a batch dimension; got a scalar")
    if value.shape[0] == 0:
        raise InvalidInput(f"input {name!r} is empty: send at least one example")
    if len(spec.shape) == 0:
        return value
    if spec.shape[0] > 0 and value.shape[0] != spec.shape[0]:
        raise InvalidInput(
            f"input {name!r}: this model was exported with a fixed batch of {spec.shape[0]} "
            f"example(s) and got {value.shape[0]}; send {spec.shape[0]} per request, or "
            "export it with a dynamic batch dimension"
        )
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
    return exact_cast(name, value, want)


def exact_cast(name: str, value: np.ndarray[Any, Any], want: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """``value`` as ``want``; InvalidInput if a value would change (truncated, wrapped)."""
    try:
        if want.kind not in "iub" or np.can_cast(value.dtype, want, "safe"):
            return value.astype(want, copy=False)
        # Casting truncates 3.5 to 3 and wraps 2**40 into int32: refuse what would change.
        if value.dtype.kind == "f":  # NaN and overflow warn when cast: they are refused below
            with np.errstate(invalid="ignore", over="ignore"):
                cast = value.astype(want, copy=False)
        else:
            cast = value.astype(want, copy=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"input {name!r} cannot be read as {want.name}: {exc}") from exc
    changed = cast != value  # NaN differs from everything, so it is refused too
    if changed.any():
        bad = value[changed].reshape(-1)[0].item()
        raise InvalidInput(
            f"input {name!r}: data must be {want.name} values; {bad!r} is not one "
            f"(whole numbers within {_range(want)})"
        )
    return cast


def _range(want: np.dtype[Any]) -> str:
    if want.kind == "b":
        return "0..1"
    info = np.iinfo(want)
    return f"{info.min}..{info.max}"


def _require_widening(name: str, got: np.dtype[Any], want: np.dtype[Any]) -> None:
    """Refuse a declared datatype that is not ``want`` nor widens to it without loss."""
    kinds = {"i": "i", "u": "ui", "f": "f"}.get(got.kind, "")
    if want.kind in kinds and np.can_cast(got, want, "safe"):
        return
    raise InvalidInput(
        f"input {name!r}: the signature takes {v2_datatype(want.name)} "
        f"({want.name}), the request sent {v2_datatype(got.name)}; convert it before sending "
        "(a narrower type of the same kind is accepted)"
    )
