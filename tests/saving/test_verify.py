"""Comparing a served artifact's outputs with the original model's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from modelship.manifest import Manifest
from modelship.saving.verify import compare_outputs, verify_artifact
from modelship.signature import Signature, TensorSpec
from tests.fixtures.toy_models import softmax_linear


def test_floats_within_tolerance_pass_and_report_their_largest_difference() -> None:
    original = {"y": np.array([[1.0, 2.0], [3.0, 0.0]], dtype=np.float32)}
    served = {"y": original["y"] + np.float32(5e-6)}
    per_output, max_rel, problem = compare_outputs(served, original, rtol=1e-4, atol=1e-5)
    assert problem == ""
    assert per_output["y"] == np.float32(5e-6).item() or abs(per_output["y"] - 5e-6) < 1e-7
    assert 0 < max_rel < 1e-5


def test_floats_beyond_tolerance_fail_with_the_difference() -> None:
    original = {"y": np.zeros((2, 2), dtype=np.float32)}
    served = {"y": np.full((2, 2), 0.01, dtype=np.float32)}
    _, _, problem = compare_outputs(served, original, rtol=1e-4, atol=1e-5)
    assert "output 'y' differs from the original by up to 0.01" in problem


def test_integers_must_be_equal_and_shapes_must_match() -> None:
    original = {"ids": np.array([1, 2, 3], dtype=np.int64)}
    _, _, problem = compare_outputs({"ids": np.array([1, 2, 4])}, original, 1e-4, 1e-5)
    assert "'ids' (int64) differs" in problem
    _, _, problem = compare_outputs({"ids": np.array([[1, 2, 3]])}, original, 1e-4, 1e-5)
    assert "shape [1, 3]" in problem
    _, _, problem = compare_outputs({}, original, 1e-4, 1e-5)
    assert "'ids' is missing" in problem


def _onnx_version(tmp_path: Path) -> tuple[Path, Manifest, np.ndarray, np.ndarray]:
    model, weight, bias = softmax_linear(4, 3)
    onnx.save(model, str(tmp_path / "model.onnx"))
    signature = Signature(
        {"images": TensorSpec("float32", (-1, 4))},
        {"probabilities": TensorSpec("float32", (-1, 3))},
    )
    manifest = Manifest("m", "onnx", {"serving_default": signature})
    return tmp_path, manifest, weight, bias


def test_verify_loads_with_the_serving_runtime_and_compares(tmp_path: Path) -> None:
    directory, manifest, weight, bias = _onnx_version(tmp_path)
    x = np.random.default_rng(0).random((5, 4), dtype=np.float32)
    logits = x.astype(np.float64) @ weight + bias
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    original = {"probabilities": (e / e.sum(axis=1, keepdims=True)).astype(np.float32)}
    check = verify_artifact(directory, "model.onnx", "onnx", manifest, {"images": x}, original)
    assert check.passed, check.error
    assert check.runtime == "onnx"
    assert check.max_abs_error < 1e-6
    wrong = {"probabilities": original["probabilities"][:, ::-1].copy()}
    check = verify_artifact(directory, "model.onnx", "onnx", manifest, {"images": x}, wrong)
    assert not check.passed
    assert "differs from the original" in check.error


def test_an_artifact_that_does_not_load_fails_its_check(tmp_path: Path) -> None:
    directory, manifest, _, _ = _onnx_version(tmp_path)
    (directory / "model.onnx").write_bytes(b"not onnx")
    check = verify_artifact(directory, "model.onnx", "onnx", manifest, {}, None)
    assert not check.passed
    assert check.error.startswith("onnx cannot load it: cannot load model.onnx")
    assert str(directory) not in check.error
