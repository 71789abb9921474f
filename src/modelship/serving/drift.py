"""Live drift: do the inputs a version gets, and the classes it predicts, still look like training?

Each version keeps a window of its last sampled rows (bounded: ``window`` rows of one byte per
feature). Per feature, the window's histogram over the training bins is compared with the
training histogram in ``modelship.json`` by the population stability index (PSI); a feature
whose PSI passes :data:`FEATURE_PSI_THRESHOLD` has drifted. ``modelship_input_drift`` is the
share of drifted features; ``modelship_prediction_drift`` the PSI of the predicted classes
against those the model predicted on its test split. A version without training statistics
says so and exports no gauge, rather than a reassuring zero.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelship.data.fingerprint import HISTOGRAM_BINS, bin_index, bin_position
from modelship.manifest import Manifest
from modelship.serving.metrics import Metrics
from modelship.serving.tap import Sample

__all__ = ["FEATURE_PSI_THRESHOLD", "DriftMonitor", "DriftReference"]

# PSI above 0.25 is the customary "significant shift"; 0.1-0.25 a moderate one.
FEATURE_PSI_THRESHOLD = 0.25
# Proportions are floored at this, so an empty bin does not make the PSI infinite.
_EPSILON = 1e-4
_DIGITS = 4
# How often, at most, the background thread recomputes the gauges.
_PUBLISH_SECONDS = 1.0


def psi(expected: np.ndarray[Any, Any], actual: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Population stability index over the last axis of two arrays of proportions."""
    p = np.maximum(expected, _EPSILON)
    q = np.maximum(actual, _EPSILON)
    return np.sum((q - p) * np.log(q / p), axis=-1)  # type: ignore[no-any-return]


def _proportions(counts: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    total = counts.sum(axis=-1, keepdims=True)
    proportions: np.ndarray[Any, Any] = counts / np.maximum(total, 1)
    return proportions


@dataclass(frozen=True)
class DriftReference:
    """What a version's training recorded: per-feature histograms and the predicted classes."""

    n_features: int
    low: float
    high: float
    features: np.ndarray[Any, Any] | None  # proportions, features x bins
    classes: np.ndarray[Any, Any] | None  # proportions per class
    labels: list[str]
    missing: str  # why input statistics are absent ("" when present)

    @classmethod
    def from_manifest(cls, manifest: Manifest | None) -> DriftReference:
        stats: dict[str, Any] = (manifest.data.get("stats") if manifest else None) or {}
        labels = list(manifest.labels) if manifest else []
        histograms = stats.get("feature_histograms")
        missing = ""
        if manifest is None:
            missing = "the version has no modelship.json"
        elif not stats:
            missing = "modelship.json records no training statistics (data.stats)"
        elif not histograms or int(stats.get("histogram_bins", 0)) != HISTOGRAM_BINS:
            missing = "modelship.json's training statistics have no feature histograms"
        low, high = float(stats.get("min", 0.0)), float(stats.get("max", 1.0))
        features = None if missing else _proportions(np.asarray(histograms, dtype=np.float64))
        return cls(
            n_features=int(stats.get("n_features", 0)),
            low=low,
            high=high,
            features=features,
            classes=_class_reference(manifest, stats),
            labels=labels,
            missing=missing,
        )


def _class_reference(
    manifest: Manifest | None, stats: dict[str, Any]
) -> np.ndarray[Any, Any] | None:
    """Predicted classes on held-out data: recorded counts, else the confusion matrix's columns."""
    if manifest is None or not manifest.labels:
        return None
    counts = stats.get("predicted_class_counts")
    if isinstance(counts, dict) and counts:
        values = [float(counts.get(label, 0)) for label in manifest.labels]
        return _proportions(np.asarray(values))
    matrix = manifest.metrics.get("confusion_matrix")
    if isinstance(matrix, list) and len(matrix) == len(manifest.labels):
        return _proportions(np.asarray(matrix, dtype=np.float64).sum(axis=0))
    return None


@dataclass
class _Bucket:
    """Counts over a run of sampled rows: per bin (per feature and bin, or per class), and how
    many values fell out of the training range."""

    counts: np.ndarray[Any, Any]
    rows: int = 0
    outside: int = 0


class _Buckets:
    """The last rows as two buckets of up to ``size`` rows: when the current one is full it
    becomes the previous one, and the window is both (between ``size`` and ``2 * size`` rows).

    Tumbling buckets rather than a ring of rows: a row costs one histogram update, and nothing
    has to be subtracted when old rows leave.
    """

    def __init__(self, bins: int, size: int) -> None:
        self.size = size
        self.current = _Bucket(np.zeros(bins, dtype=np.int64))
        self.previous = _Bucket(np.zeros(bins, dtype=np.int64))

    def room(self) -> int:
        """Rows the current bucket still takes; when none, it turns over first."""
        if self.current.rows >= self.size:
            self.previous = self.current
            self.current = _Bucket(np.zeros_like(self.previous.counts))
        return self.size - self.current.rows

    def add(self, flat_bins: np.ndarray[Any, Any], rows: int, outside: int = 0) -> None:
        """Count ``rows`` rows (at most :meth:`room`) given as their flattened bin indices."""
        bucket = self.current
        bucket.counts += np.bincount(flat_bins, minlength=bucket.counts.size)
        bucket.rows += rows
        bucket.outside += outside

    @property
    def rows(self) -> int:
        return self.current.rows + self.previous.rows

    @property
    def outside(self) -> int:
        return self.current.outside + self.previous.outside

    @property
    def counts(self) -> np.ndarray[Any, Any]:
        counts: np.ndarray[Any, Any] = self.current.counts + self.previous.counts
        return counts


class _Window:
    """One version's recent sampled rows: input histograms and predicted classes.

    Samples wait in ``pending_*`` until :meth:`absorb` bins them all in one vectorised pass.
    """

    def __init__(self, reference: DriftReference, rows: int) -> None:
        self.reference = reference
        size = max(rows // 2, 1)
        features = reference.n_features if reference.features is not None else 0
        self.offsets = np.arange(features, dtype=np.int32) * HISTOGRAM_BINS
        n_classes = len(reference.classes) if reference.classes is not None else 0
        self.inputs = _Buckets(features * HISTOGRAM_BINS, size)
        self.classes = _Buckets(n_classes, size)
        self.nonfinite = 0
        self.pending_inputs: list[np.ndarray[Any, Any]] = []
        self.pending_scores: list[np.ndarray[Any, Any]] = []

    @property
    def input_rows(self) -> int:
        return self.inputs.rows

    @property
    def class_rows(self) -> int:
        return self.classes.rows

    def absorb(self) -> int:
        """Take in the pending samples; returns how many of their values were NaN or infinite."""
        nonfinite = 0
        if self.pending_inputs:
            rows = np.concatenate(self.pending_inputs)
            self.pending_inputs = []
            while len(rows):
                room = self.inputs.room()
                nonfinite += self._add_inputs(rows[:room])
                rows = rows[room:]
        if self.pending_scores:
            predicted = np.argmax(np.concatenate(self.pending_scores), axis=1)
            self.pending_scores = []
            while len(predicted):
                room = self.classes.room()
                self.classes.add(predicted[:room], len(predicted[:room]))
                predicted = predicted[room:]
        return nonfinite

    def _add_inputs(self, rows: np.ndarray[Any, Any]) -> int:
        ref = self.reference
        position = bin_position(rows, ref.low, ref.high)
        nonfinite = 0
        if not np.isfinite(position.sum()):  # one pass when all is finite, the usual case
            finite = np.isfinite(position)
            nonfinite = int(position.size - np.count_nonzero(finite))
            # Counted, and binned as out of range above the training maximum.
            position = np.where(finite, position, np.float32(HISTOGRAM_BINS + 1))
        self.nonfinite += nonfinite
        margin = np.float32(0.01 * HISTOGRAM_BINS + 1e-6)  # 1% of the range, as validate's
        outside = (position < -margin) | (position > HISTOGRAM_BINS + margin)
        bins = bin_index(position).astype(np.int32) + self.offsets
        self.inputs.add(bins.ravel(), len(rows), int(np.count_nonzero(outside)))
        return nonfinite

    @property
    def counts(self) -> np.ndarray[Any, Any]:
        """Rows per feature and bin over the window."""
        return self.inputs.counts

    @property
    def class_counts(self) -> np.ndarray[Any, Any]:
        """Rows per predicted class over the window."""
        return self.classes.counts

    def input_summary(self) -> dict[str, Any]:
        ref = self.reference
        assert ref.features is not None
        n = self.input_rows
        live = self.counts.reshape(-1, HISTOGRAM_BINS) / max(n, 1)
        scores = psi(ref.features, live)
        values = n * ref.n_features
        return {
            "drifted_feature_share": round(float(np.mean(scores > FEATURE_PSI_THRESHOLD)), _DIGITS),
            "mean_feature_psi": round(float(scores.mean()), _DIGITS),
            "max_feature_psi": round(float(scores.max()), _DIGITS),
            "out_of_range_share": round(self.inputs.outside / max(values, 1), _DIGITS),
        }

    def prediction_summary(self) -> dict[str, Any]:
        ref = self.reference
        assert ref.classes is not None
        live = _proportions(self.class_counts.astype(np.float64))
        return {
            "class_psi": round(float(psi(ref.classes, live)), _DIGITS),
            "predicted": dict(zip(ref.labels, self.class_counts.tolist(), strict=True)),
        }


class DriftMonitor:
    """Keeps a window per served version and publishes its drift as gauges and JSON."""

    def __init__(
        self,
        metrics: Metrics,
        sampling_rate: float = 0.05,
        window: int = 1000,
        min_rows: int = 100,
    ) -> None:
        self.metrics = metrics
        self.rate = sampling_rate
        self.window = window
        self.min_rows = min_rows
        self._windows: dict[tuple[str, int], _Window] = {}
        self._dirty: set[tuple[str, int]] = set()
        self._published = 0.0
        self._lock = threading.Lock()

    def sampling_rate(self, model: str) -> float:
        return self.rate

    def consume(self, sample: Sample) -> None:
        key = (sample.model, sample.version)
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                reference = DriftReference.from_manifest(sample.manifest)
                window = self._windows[key] = _Window(reference, self.window)
            self._add(window, sample)
            self._dirty.add(key)

    def _add(self, window: _Window, sample: Sample) -> None:
        ref = window.reference
        if ref.features is not None:
            for array in sample.inputs.values():
                rows = len(array) if array.ndim else 0
                if rows and array.dtype.kind in "fiub" and array.size == rows * ref.n_features:
                    window.pending_inputs.append(array.reshape(rows, -1))
                    break
        if ref.classes is not None:
            for array in sample.outputs.values():
                if array.ndim == 2 and array.shape[1] == len(ref.classes):
                    window.pending_scores.append(array)
                    break

    def flush(self, force: bool = True) -> None:
        """Bin the samples taken since the last call, a batch at a time (one vectorised pass
        costs about what one sample does), and recompute those versions' gauges: PSI over every
        feature costs more, so at most once per :data:`_PUBLISH_SECONDS` unless ``force``."""
        now = time.monotonic()
        if not force and now - self._published < _PUBLISH_SECONDS:
            return
        self._published = now
        with self._lock:
            for key in self._dirty:
                window = self._windows[key]
                self._absorb(key, window)
                self._publish(key, window)
            self._dirty.clear()

    def _absorb(self, key: tuple[str, int], window: _Window) -> None:
        nonfinite = window.absorb()
        if nonfinite:
            self.metrics.nonfinite_input(key[0], key[1], nonfinite)

    def _publish(self, key: tuple[str, int], window: _Window) -> None:
        model, version = key
        if window.reference.features is not None and window.input_rows >= self.min_rows:
            share = window.input_summary()["drifted_feature_share"]
            self.metrics.drift("input", model, version, share)
        if window.reference.classes is not None and window.class_rows >= self.min_rows:
            self.metrics.drift(
                "prediction", model, version, window.prediction_summary()["class_psi"]
            )

    def report(self, versions: list[tuple[str, int, Manifest | None]]) -> list[dict[str, Any]]:
        """The drift of each of ``versions`` (model, version, manifest), sampled or not yet."""
        answer = []
        with self._lock:
            for model, version, manifest in versions:
                window = self._windows.get((model, version))
                if window is None:
                    window = _Window(DriftReference.from_manifest(manifest), 1)
                else:
                    self._absorb((model, version), window)
                answer.append(self._describe(model, version, window))
        return answer

    def _describe(self, model: str, version: int, window: _Window) -> dict[str, Any]:
        ref = window.reference
        entry: dict[str, Any] = {
            "model": model,
            "version": version,
            "window_rows": self.window,
            "min_rows": self.min_rows,
            "feature_psi_threshold": FEATURE_PSI_THRESHOLD,
        }
        if ref.features is None:
            entry["input"] = {"statistics": False, "reason": ref.missing}
        else:
            entry["input"] = {"statistics": True, "rows": window.input_rows,
                              "nonfinite_values": window.nonfinite}  # fmt: skip
            if window.input_rows >= self.min_rows:
                entry["input"].update(window.input_summary())
            else:
                entry["input"]["reason"] = f"fewer than {self.min_rows} sampled rows so far"
        if ref.classes is None:
            entry["prediction"] = {
                "statistics": False,
                "reason": "modelship.json records no predicted classes on held-out data",
            }
        else:
            entry["prediction"] = {"statistics": True, "rows": window.class_rows}
            if window.class_rows >= self.min_rows:
                entry["prediction"].update(window.prediction_summary())
        return entry

    def close(self) -> None:
        return None
