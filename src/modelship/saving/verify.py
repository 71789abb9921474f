"""Checking an exported artifact before it is published: load it with the runtime that will
serve it, run the example inputs, and compare with what the original model answered.

A float output passes when ``|served - original| <= atol + rtol * |original|`` everywhere (numpy's
``allclose``); integer, boolean and string outputs must be equal. The largest differences are
recorded either way, so the manifest says how close the served model is, not only that it passed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelship.manifest import Manifest
from modelship.runtimes import RuntimeOptions, get_runtime
from modelship.signature import Arrays

__all__ = ["DEFAULT_ATOL", "DEFAULT_RTOL", "Check", "compare_outputs", "verify_artifact"]

DEFAULT_RTOL = 1e-4
DEFAULT_ATOL = 1e-5


@dataclass
class Check:
    """What verifying one artifact found.

    Attributes:
        artifact: the file checked, e.g. ``model.onnx``.
        runtime: the runtime that loaded it (``onnx``, ``torch``, ``tensorflow``).
        passed: every output within tolerance (or, with no reference, the artifact ran).
        max_abs_error: the largest ``|served - original|`` over every float output.
        max_rel_error: the largest ``|served - original| / |original|`` where original != 0.
        rtol: relative tolerance it was held to.
        atol: absolute tolerance it was held to.
        error: why it failed, if it did.
        outputs: per output, its own largest absolute difference.
    """

    artifact: str
    runtime: str
    passed: bool
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    rtol: float = DEFAULT_RTOL
    atol: float = DEFAULT_ATOL
    error: str = ""
    outputs: dict[str, float] = field(default_factory=dict)
    compared: bool = True

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "runtime": self.runtime,
            "device": "cpu",
            "passed": self.passed,
            "compared_with_original": self.compared,
            "max_abs_error": self.max_abs_error,
            "max_rel_error": self.max_rel_error,
            "rtol": self.rtol,
            "atol": self.atol,
            "outputs": self.outputs,
        }
        if self.error:
            data["error"] = self.error
        return data


def compare_outputs(
    served: Arrays, original: Arrays, rtol: float, atol: float
) -> tuple[dict[str, float], float, str]:
    """Per output, the largest absolute difference; the largest relative one; and the first
    reason the two disagree beyond tolerance (``""`` when they agree)."""
    per_output: dict[str, float] = {}
    max_rel, problem = 0.0, ""
    for name, expected in original.items():
        if name not in served:
            return per_output, max_rel, f"output {name!r} is missing (got {', '.join(served)})"
        got, want = np.asarray(served[name]), np.asarray(expected)
        if got.shape != want.shape:
            return (
                per_output,
                max_rel,
                (f"output {name!r} has shape {list(got.shape)}, the original {list(want.shape)}"),
            )
        if want.dtype.kind in "fc":
            got64, want64 = got.astype(np.float64), want.astype(np.float64)
            diff = np.abs(got64 - want64)
            worst = float(diff.max()) if diff.size else 0.0
            scale = np.abs(want64)
            nonzero = scale > 0
            if nonzero.any():
                max_rel = max(max_rel, float((diff[nonzero] / scale[nonzero]).max()))
            per_output[name] = worst
            if not problem and not np.allclose(got64, want64, rtol=rtol, atol=atol, equal_nan=True):
                problem = (
                    f"output {name!r} differs from the original by up to {worst:.3g} "
                    f"(allowed: {atol:g} + {rtol:g} x |original|)"
                )
        else:
            equal = bool(np.array_equal(got, want))
            if want.dtype.kind in "iub" and got.dtype.kind in "iub" and want.size:
                diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
                per_output[name] = float(diff.max())
            else:  # strings: 1.0 marks a difference
                per_output[name] = 0.0 if equal else 1.0
            if not equal and not problem:
                problem = f"output {name!r} ({want.dtype}) differs from the original's values"
    return per_output, max_rel, problem


def verify_artifact(
    directory: Path,
    artifact: str,
    runtime_name: str,
    manifest: Manifest,
    inputs: Arrays,
    original: Arrays | None,
    *,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> Check:
    """Load ``directory`` with ``runtime_name``, run ``inputs`` through its default signature
    and compare with ``original`` (``None``: only check that it loads and runs).

    Never raises for a bad artifact: the returned :class:`Check` says what went wrong.
    """
    check = Check(artifact, runtime_name, passed=False, rtol=rtol, atol=atol)
    try:
        # On the CPU: the original's answers were computed there, and a GPU's faster kernels
        # (TF32 matmuls, fused convolutions) would differ by more than a tolerance is for.
        runtime = get_runtime(runtime_name).load(directory, manifest, RuntimeOptions(device="cpu"))
    except Exception as exc:  # any runtime's load error: the artifact is not servable
        check.error = f"{runtime_name} cannot load it: {_reason(exc, directory)}"
        return check
    try:
        signature = next(iter(runtime.signatures.values()))
        feeds = {
            name: np.asarray(inputs[name], dtype=spec.numpy_dtype)
            for name, spec in signature.inputs.items()
            if name in inputs
        }
        missing = [name for name in signature.inputs if name not in feeds]
        if missing:
            check.error = f"{artifact} takes input(s) {', '.join(missing)} the example lacks"
            return check
        served = runtime.predict(signature.name, feeds)
    except Exception as exc:  # the runtime refused the example inputs
        check.error = (
            f"{runtime_name} cannot run {artifact} on the example inputs: {_reason(exc, directory)}"
        )
        return check
    finally:
        runtime.close()
    if original is None:
        check.compared = False
        check.passed = True
        return check
    check.outputs, check.max_rel_error, problem = compare_outputs(served, original, rtol, atol)
    check.max_abs_error = max(check.outputs.values(), default=0.0)
    check.passed = not problem
    check.error = problem
    return check


def _reason(exc: BaseException, directory: Path) -> str:
    # The directory is the unpublished one: its hidden name would only confuse the reader.
    text = str(getattr(exc, "message", "") or exc).replace(f"{directory}/", "")
    lines = text.strip().splitlines()
    first = lines[0] if lines else type(exc).__name__
    return first if len(first) <= 300 else first[:300] + "..."
