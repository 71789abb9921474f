"""Validation of a model from the real trainer, on the bundled data it was trained with."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from modelship.training import TrainResult
from modelship.validation import Thresholds, validate
from modelship.validation.data import load_eval_data
from tests.fixtures.trained import trained_torch


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return trained_torch(tmp_path_factory)


def swap_classes(version: Path, first: int, second: int) -> None:
    """Swap two classes in the output layer: every weight with a 10-wide axis, in place."""
    path = version / "model.onnx"
    model = onnx.load(str(path))
    for index, tensor in enumerate(model.graph.initializer):
        array = numpy_helper.to_array(tensor).copy()
        axes = [a for a, size in enumerate(array.shape) if size == 10]
        if not axes:
            continue
        order = np.arange(10)
        order[[first, second]] = order[[second, first]]
        swapped = np.take(array, order, axis=axes[-1])
        model.graph.initializer[index].CopyFrom(numpy_helper.from_array(swapped, tensor.name))
    onnx.save(model, str(path))


def test_trained_model_passes_and_a_damaged_copy_fails(
    trained: TrainResult, tmp_path: Path
) -> None:
    data = load_eval_data("bundled")
    limits = Thresholds(min_accuracy=0.5)
    report = validate(trained.version_path, data, thresholds=limits)
    assert report.passed, report.failures()
    # The trainer recorded the statistics of this very data: the data checks ran, not skipped.
    data_checks = {c.name: c.passed for c in report.checks if c.kind == "data"}
    assert data_checks["feature count"] is True
    assert data_checks["mean shift (training std)"] is True
    assert report.metrics["accuracy"] == pytest.approx(trained.test_accuracy, abs=1e-3)

    damaged = tmp_path / "8"
    shutil.copytree(trained.version_path, damaged)
    swap_classes(damaged, 3, 5)
    worse = validate(damaged, data, against=trained.version_path, thresholds=limits)
    failed = {c.name for c in worse.failures()}
    assert "worst class delta" in failed
    assert worse.metrics["worst_class"] in (3, 5)
