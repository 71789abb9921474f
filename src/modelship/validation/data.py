"""Evaluation data and data validation: do these inputs look like what the model trained on?

The training run records the training inputs' statistics in ``modelship.json`` (``data.stats``:
``n_features``, ``min``, ``max``, ``mean``, ``std``, ``feature_mean``, ``feature_std``). The
checks compare the evaluation inputs with them: schema (feature count, label range), values out
of the training range, a shift of the global mean, and per-feature drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelship.data.fingerprint import fingerprint
from modelship.errors import BadConfig
from modelship.manifest import Manifest
from modelship.validation.report import Check

__all__ = ["EvalData", "check_data", "load_eval_data"]


@dataclass(frozen=True)
class EvalData:
    """Examples with their true classes."""

    x: np.ndarray[Any, Any]
    y: np.ndarray[Any, Any]
    name: str
    fingerprint: str


def load_eval_data(source: str) -> EvalData:
    """``bundled`` (scikit-learn's digits test split), a ``.npz`` with ``x`` and ``y`` (or a
    directory holding ``eval.npz``), or a directory of MNIST IDX files (its test split)."""
    path = Path(source)
    npz = path / "eval.npz" if path.is_dir() else path
    if npz.suffix == ".npz" and npz.is_file():
        with np.load(npz) as data:
            if "x" not in data or "y" not in data:
                raise BadConfig(f"{npz} must hold arrays named x and y")
            x, y = np.asarray(data["x"], dtype=np.float32), np.asarray(data["y"], dtype=np.int64)
        return EvalData(x, y, str(npz), fingerprint(x, y))
    if source != "bundled" and not path.is_dir():
        raise BadConfig(f"--data {source}: expected bundled, a .npz file or a data directory")
    from modelship.data import load_dataset

    dataset = (
        load_dataset("digits") if source == "bundled" else load_dataset("mnist", path, mirrors=[])
    )
    x_test, y_test = np.asarray(dataset.x_test), np.asarray(dataset.y_test)
    return EvalData(x_test, y_test, dataset.name, fingerprint(x_test, y_test))


def check_data(
    data: EvalData,
    manifest: Manifest | None,
    *,
    max_out_of_range: float,
    max_mean_shift: float,
    max_drifted_features: float,
) -> list[Check]:
    """Schema and statistics checks of ``data`` against the candidate's training record."""
    checks: list[Check] = []
    flat = data.x.reshape(len(data.x), -1).astype(np.float64)
    n_classes = len(manifest.labels) if manifest is not None and manifest.labels else None
    if n_classes is not None:
        bad = int(np.count_nonzero((data.y < 0) | (data.y >= n_classes)))
        checks.append(Check("data", "labels in range", bad == 0, bad, 0, f"{n_classes} classes"))
    stats = (manifest.data.get("stats") if manifest is not None else None) or {}
    if not stats:
        checks.append(
            Check("data", "training statistics", None, None, None, "none recorded: skipped")
        )
        return checks
    n_features = int(stats.get("n_features", flat.shape[1]))
    same_schema = n_features == flat.shape[1]
    checks.append(
        Check("data", "feature count", same_schema, flat.shape[1], n_features, "training had")
    )
    if not same_schema:
        return checks
    low, high = float(stats["min"]), float(stats["max"])
    margin = 1e-6 + 0.01 * (high - low)
    outside = float(np.mean((flat < low - margin) | (flat > high + margin)))
    checks.append(
        Check(
            "data",
            "values outside training range",
            outside <= max_out_of_range,
            round(outside, 6),
            max_out_of_range,
            f"training range [{low:g}, {high:g}]",
        )
    )
    std = max(float(stats["std"]), 1e-12)
    shift = abs(float(flat.mean()) - float(stats["mean"])) / std
    checks.append(
        Check(
            "data",
            "mean shift (training std)",
            shift <= max_mean_shift,
            round(shift, 4),
            max_mean_shift,
            "",
        )
    )
    if "feature_mean" in stats and "feature_std" in stats:
        train_mean = np.asarray(stats["feature_mean"], dtype=np.float64)
        train_std = np.maximum(np.asarray(stats["feature_std"], dtype=np.float64), 0.05)
        drifted = float(np.mean(np.abs(flat.mean(axis=0) - train_mean) > 3 * train_std))
        checks.append(
            Check(
                "data",
                "drifted features",
                drifted <= max_drifted_features,
                round(drifted, 4),
                max_drifted_features,
                "feature mean beyond 3 training std",
            )
        )
    return checks
