"""Validation runs both models for real and judges the candidate."""

from __future__ import annotations

from modelship.validation import Thresholds, validate
from modelship.validation.data import load_eval_data
from tests.fixtures.validation_task import Task


def failed(report: object) -> set[str]:
    return {c.name for c in report.failures()}  # type: ignore[attr-defined]


def test_retrained_model_passes(task: Task) -> None:
    serving = task.repo / "digits" / "1"
    report = validate(task.repo / "digits" / "2", load_eval_data(str(task.data)), serving)
    assert report.passed, report.failures()
    assert report.metrics["accuracy"] > report.metrics["baseline_accuracy"]
    assert report.metrics["agreement"] >= 0.9
    assert {c.kind for c in report.checks} == {"data", "model", "differential"}


def test_worse_model_is_rejected(task: Task) -> None:
    serving = task.repo / "digits" / "1"
    report = validate(task.repo / "digits" / "3", load_eval_data(str(task.data)), serving)
    assert not report.passed
    assert {"accuracy delta", "worst class delta"} <= failed(report)
    assert report.metrics["worst_class"] in (0, 1)
    assert report.metrics["worst_class_delta"] < -0.5


def test_drifted_inputs_fail_data_validation(task: Task) -> None:
    report = validate(task.repo / "digits" / "2", load_eval_data(str(task.drifted)))
    assert "mean shift (training std)" in failed(report)
    assert "values outside training range" in failed(report)


def test_quality_floor_is_configurable(task: Task) -> None:
    data = load_eval_data(str(task.data))
    strict = validate(task.repo / "digits" / "2", data, thresholds=Thresholds(min_accuracy=1.0))
    assert failed(strict) == {"accuracy"}
