"""``modelship validate``: data validation, model validation, and a differential test.

1. data: the evaluation inputs against the candidate's recorded training schema and statistics;
2. model: the candidate's accuracy on them must reach a floor;
3. differential: candidate and serving version (a directory, or a URL to a running server) on
   the same inputs: agreement of their top class, accuracy delta, and the worst class's delta.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from modelship.manifest import MANIFEST_NAME, Manifest
from modelship.validation.data import EvalData, check_data
from modelship.validation.predictors import LocalPredictor, predictor_for
from modelship.validation.report import Check, Report

__all__ = ["Thresholds", "validate"]


@dataclass(frozen=True)
class Thresholds:
    """What passing means; every value can be set from the command line."""

    min_accuracy: float = 0.9
    max_accuracy_drop: float = 0.01
    max_class_drop: float = 0.05
    min_agreement: float = 0.9
    max_out_of_range: float = 0.001
    max_mean_shift: float = 0.5
    max_drifted_features: float = 0.05


def validate(
    candidate: Path,
    data: EvalData,
    against: str | Path | None = None,
    thresholds: Thresholds | None = None,
) -> Report:
    """Run every check on ``candidate`` and return the report (not yet written)."""
    limits = thresholds or Thresholds()
    manifest = Manifest.read(candidate) if (candidate / MANIFEST_NAME).is_file() else None
    report = Report(
        candidate=str(candidate),
        against=str(against) if against is not None else None,
        data={"name": data.name, "n": len(data), "fingerprint": data.fingerprint},
        thresholds=asdict(limits),
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    candidate_model = LocalPredictor(candidate)
    candidate_model.named(data.inputs)  # wrong input names: refused before any check runs
    report.checks += check_data(
        data,
        manifest,
        max_out_of_range=limits.max_out_of_range,
        max_mean_shift=limits.max_mean_shift,
        max_drifted_features=limits.max_drifted_features,
    )
    predicted = np.argmax(candidate_model.scores(data.inputs), axis=1)
    n_classes = max(int(data.y.max()) + 1, len(manifest.labels) if manifest else 0)
    accuracy = float(np.mean(predicted == data.y))
    per_class = _per_class(predicted, data.y, n_classes)
    report.metrics.update(accuracy=accuracy, per_class_accuracy=per_class)
    report.checks.append(
        Check("model", "accuracy", accuracy >= limits.min_accuracy, round(accuracy, 4),
              limits.min_accuracy, f"on {len(data)} examples")
    )  # fmt: skip
    if against is not None:
        baseline = predictor_for(against)
        base_predicted = np.argmax(baseline.scores(data.inputs), axis=1)
        report.checks += _differential(predicted, base_predicted, data.y, n_classes, limits, report)
    return report


def _per_class(
    predicted: np.ndarray[Any, Any], y: np.ndarray[Any, Any], n: int
) -> list[float | None]:
    result: list[float | None] = []
    for cls in range(n):
        members = y == cls
        result.append(
            round(float(np.mean(predicted[members] == cls)), 4) if members.any() else None
        )
    return result


def _differential(
    predicted: np.ndarray[Any, Any],
    baseline: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    n_classes: int,
    limits: Thresholds,
    report: Report,
) -> list[Check]:
    agreement = float(np.mean(predicted == baseline))
    delta = float(np.mean(predicted == y) - np.mean(baseline == y))
    ours, theirs = _per_class(predicted, y, n_classes), _per_class(baseline, y, n_classes)
    deltas = {
        c: a - b
        for c, (a, b) in enumerate(zip(ours, theirs, strict=True))
        if a is not None and b is not None
    }
    worst = min(deltas, key=lambda c: deltas[c]) if deltas else None
    worst_delta = deltas[worst] if worst is not None else 0.0
    report.metrics.update(
        baseline_accuracy=float(np.mean(baseline == y)),
        agreement=agreement,
        accuracy_delta=delta,
        worst_class=worst,
        worst_class_delta=worst_delta,
    )
    return [
        Check("differential", "agreement with serving version", agreement >= limits.min_agreement,
              round(agreement, 4), limits.min_agreement, "same top class"),
        Check("differential", "accuracy delta", delta >= -limits.max_accuracy_drop,
              round(delta, 4), -limits.max_accuracy_drop, "candidate - serving"),
        Check("differential", "worst class delta", worst_delta >= -limits.max_class_drop,
              round(worst_delta, 4), -limits.max_class_drop, f"class {worst}"),
    ]  # fmt: skip
