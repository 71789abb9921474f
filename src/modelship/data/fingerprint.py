"""Fingerprints and input statistics that tie a model version to the exact data it saw.

The fingerprint changes when any value, dtype, shape or the order of the arrays changes, so two
manifests with the same fingerprint were trained and tested on identical data. The statistics
are what a server needs later to notice that the inputs it receives no longer look like the
training data.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from modelship.data.dataset import Dataset

__all__ = [
    "HISTOGRAM_BINS",
    "bin_index",
    "bin_position",
    "dataset_fingerprint",
    "fingerprint",
    "input_stats",
]

# Enough digits for drift checks, few enough to keep modelship.json readable.
_DIGITS = 6
# Rows per block when accumulating moments.
_BLOCK = 4096
# Equal-width bins over the training range, per feature: what a server compares live inputs
# with (population stability index); ten is the usual choice for PSI.
HISTOGRAM_BINS = 10


def fingerprint(*arrays: np.ndarray[Any, Any]) -> str:
    """``sha256:<hex>`` over each array's dtype, shape and C-order bytes, in order."""
    digest = hashlib.sha256()
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        # The header makes (2, 3) and (3, 2) of the same bytes, or int32 vs float32, different.
        digest.update(f"{contiguous.dtype.str}{contiguous.shape}".encode())
        digest.update(contiguous.data)  # the buffer itself: no copy of a 190 MB array
    return f"sha256:{digest.hexdigest()}"


def dataset_fingerprint(dataset: Dataset) -> str:
    """The fingerprint of a dataset's four arrays (train images, labels, test images, labels)."""
    return fingerprint(dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test)


def _round(values: np.ndarray[Any, Any]) -> list[float]:
    return [round(float(v), _DIGITS) for v in values]


def _moments(flat: np.ndarray[Any, Any]) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per-feature sum and sum of squares in float64, a block of rows at a time.

    Converting all of MNIST to float64 at once would take ~380 MB; blocks keep it to a few MB.
    """
    total = np.zeros(flat.shape[1], dtype=np.float64)
    squares = np.zeros(flat.shape[1], dtype=np.float64)
    for start in range(0, len(flat), _BLOCK):
        block = flat[start : start + _BLOCK].astype(np.float64)
        total += block.sum(axis=0)
        squares += np.square(block).sum(axis=0)
    return total, squares


def bin_position(values: np.ndarray[Any, Any], low: float, high: float) -> np.ndarray[Any, Any]:
    """Where ``values`` fall on ``[low, high]`` in units of a bin: bin ``i`` is ``[i, i + 1)``.

    Arithmetic, not a search: the bins are equal-width, and a server bins live inputs with it.
    """
    scale = HISTOGRAM_BINS / (high - low) if high > low else 1.0
    position: np.ndarray[Any, Any] = (values - np.float32(low)) * np.float32(scale)
    return position


def bin_index(position: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The bin of each :func:`bin_position`; values beyond the range go to the outer bins."""
    index: np.ndarray[Any, Any] = np.clip(position, 0, HISTOGRAM_BINS - 1).astype(np.int64)
    return index


def _feature_histograms(flat: np.ndarray[Any, Any], low: float, high: float) -> list[list[int]]:
    """Per feature, how many rows fall in each of the equal-width bins over the training range."""
    n_features = flat.shape[1]
    offsets = np.arange(n_features, dtype=np.int64) * HISTOGRAM_BINS
    counts = np.zeros(n_features * HISTOGRAM_BINS, dtype=np.int64)
    for start in range(0, len(flat), _BLOCK):
        block = np.asarray(flat[start : start + _BLOCK], dtype=np.float32)
        bins = bin_index(bin_position(block, low, high)) + offsets
        counts += np.bincount(bins.ravel(), minlength=counts.size)
    return counts.reshape(n_features, HISTOGRAM_BINS).tolist()


def input_stats(
    x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], labels: list[str]
) -> dict[str, Any]:
    """Summary statistics of training inputs, JSON-ready.

    Args:
        x: images ``N x ...``; statistics are taken over the flattened features.
        y: class indices, one per image.
        labels: class names, index-aligned with ``y``'s values.

    Returns:
        ``min``, ``max``, ``mean``, ``std`` over all values; ``feature_mean`` and
        ``feature_std`` per flattened feature; ``feature_histograms``: per feature, the row
        counts in ``histogram_bins`` equal-width bins over ``[min, max]``; ``class_counts``
        per label name.
    """
    flat = np.asarray(x).reshape(len(x), -1)
    n = len(flat)
    total, squares = _moments(flat)
    feature_mean = total / n
    # E[x^2] - E[x]^2 can dip a hair below zero by rounding for constant features.
    feature_std = np.sqrt(np.maximum(squares / n - feature_mean**2, 0.0))
    mean = float(total.sum() / flat.size)
    std = float(np.sqrt(max(float(squares.sum() / flat.size) - mean**2, 0.0)))
    counts = np.bincount(np.asarray(y, dtype=np.int64), minlength=len(labels))
    # Rounded first: a server rebuilds the bin edges from the rounded values in the manifest.
    low, high = round(float(flat.min()), _DIGITS), round(float(flat.max()), _DIGITS)
    return {
        "n": n,
        "n_features": int(flat.shape[1]),
        "min": low,
        "max": high,
        "mean": round(mean, _DIGITS),
        "std": round(std, _DIGITS),
        "feature_mean": _round(feature_mean),
        "feature_std": _round(feature_std),
        "histogram_bins": HISTOGRAM_BINS,
        "feature_histograms": _feature_histograms(flat, low, high),
        "class_counts": {label: int(c) for label, c in zip(labels, counts, strict=True)},
    }
