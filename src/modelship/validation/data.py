"""Evaluation data and data validation: do these inputs look like what the model trained on?

The training run records the training inputs' statistics in ``modelship.json`` (``data.stats``:
``n_features``, ``min``, ``max``, ``mean``, ``std``, ``feature_mean``, ``feature_std``). The
checks compare the evaluation inputs with them: schema (feature count, label range), values out
of the training range, a shift of the global mean, and per-feature drift.

A model with several inputs takes a ``.npz`` with one array per input name and the labels as
``y``; its numeric inputs, flattened side by side in the file's order, are the features.
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

__all__ = ["LABELS_NAME", "SINGLE_INPUT_NAME", "EvalData", "check_data", "load_eval_data"]

# The array names in a ``.npz``: the true classes, and the examples of a one-input model.
LABELS_NAME = "y"
SINGLE_INPUT_NAME = "x"


@dataclass(frozen=True)
class EvalData:
    """Examples with their true classes: ``inputs`` maps each array's name to its examples."""

    inputs: dict[str, np.ndarray[Any, Any]]
    y: np.ndarray[Any, Any]
    name: str
    fingerprint: str

    @classmethod
    def single(cls, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], name: str) -> EvalData:
        """Examples for a model with one input, whatever that input is called."""
        return cls({SINGLE_INPUT_NAME: x}, y, name, fingerprint(x, y))

    @property
    def x(self) -> np.ndarray[Any, Any]:
        """The examples of data with one array (a one-input model's)."""
        if len(self.inputs) != 1:
            raise BadConfig(f"{self.name} holds several inputs: {', '.join(self.inputs)}")
        return next(iter(self.inputs.values()))

    def __len__(self) -> int:
        return len(self.y)

    def features(self) -> np.ndarray[Any, Any] | None:
        """Every numeric input flattened side by side (``N x features``), as float64;
        ``None`` when an input is not numeric (strings have no statistics to compare)."""
        arrays = list(self.inputs.values())
        if not all(np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_ for a in arrays):
            return None
        return np.concatenate([a.reshape(len(a), -1).astype(np.float64) for a in arrays], axis=1)


def load_eval_data(source: str) -> EvalData:
    """``bundled`` (scikit-learn's digits test split), a ``.npz`` (or a directory holding
    ``eval.npz``) with the labels ``y`` and ``x`` for a one-input model or one array per input
    name, or a directory of MNIST IDX files (its test split)."""
    path = Path(source)
    npz = path / "eval.npz" if path.is_dir() else path
    if npz.suffix == ".npz" and npz.is_file():
        return _load_npz(npz)
    if source != "bundled" and not path.is_dir():
        raise BadConfig(f"--data {source}: expected bundled, a .npz file or a data directory")
    from modelship.data import load_dataset

    dataset = (
        load_dataset("digits") if source == "bundled" else load_dataset("mnist", path, mirrors=[])
    )
    return EvalData.single(np.asarray(dataset.x_test), np.asarray(dataset.y_test), dataset.name)


def _load_npz(npz: Path) -> EvalData:
    with np.load(npz) as data:
        names = [name for name in data.files if name != LABELS_NAME]
        if LABELS_NAME not in data.files or not names:
            raise BadConfig(
                f"{npz} must hold the labels as {LABELS_NAME} and the examples: "
                f"{SINGLE_INPUT_NAME} for a one-input model, or one array per input name (it holds "
                f"{', '.join(data.files) or 'nothing'})"
            )
        y = np.asarray(data[LABELS_NAME], dtype=np.int64)
        if names == [SINGLE_INPUT_NAME]:  # the one-input layout, read as it always was
            return EvalData.single(
                np.asarray(data[SINGLE_INPUT_NAME], dtype=np.float32), y, str(npz)
            )
        inputs = {name: np.asarray(data[name]) for name in names}
    short = {name: len(array) for name, array in inputs.items() if len(array) != len(y)}
    if short:
        counts = ", ".join(f"{name} has {n}" for name, n in short.items())
        raise BadConfig(f"{npz}: {len(y)} labels but {counts} examples")
    return EvalData(inputs, y, str(npz), fingerprint(*inputs.values(), y))


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
    n_classes = len(manifest.labels) if manifest is not None and manifest.labels else None
    if n_classes is not None:
        bad = int(np.count_nonzero((data.y < 0) | (data.y >= n_classes)))
        checks.append(Check("data", "labels in range", bad == 0, bad, 0, f"{n_classes} classes"))
    stats = (manifest.data.get("stats") if manifest is not None else None) or {}
    flat = data.features()
    if not stats or flat is None:
        why = "none recorded" if not stats else "inputs not all numeric"
        checks.append(Check("data", "training statistics", None, None, None, f"{why}: skipped"))
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
