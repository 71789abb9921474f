"""Pictures of an image classifier: a confusion matrix and a grid of predictions, as PNG.

Drawn with matplotlib's Agg backend (files only, no display), so they work in containers,
threads and notebooks alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_prediction_grid"]


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray[Any, Any],
    y_pred: Sequence[int] | np.ndarray[Any, Any],
    n_classes: int,
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Counts ``[true, predicted]``: row ``i`` is every example whose class is ``i``."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return matrix


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def plot_confusion_matrix(
    matrix: np.ndarray[Any, Any], labels: Sequence[str], path: Path, title: str = ""
) -> Path:
    """Draw ``matrix`` (from :func:`confusion_matrix`) with class names into ``path``."""
    n = len(labels)
    side = max(4.0, 0.6 * n + 2.5)
    figure = _figure(side, side)
    ax = figure.subplots()
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), labels, rotation=45, ha="right")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    peak = matrix.max() if matrix.size else 0
    for i in range(n):
        for j in range(n):
            colour = "white" if peak and matrix[i, j] > peak / 2 else "black"
            ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", color=colour)
    accuracy = np.trace(matrix) / max(1, int(matrix.sum()))
    ax.set_title(f"{title} (accuracy {accuracy:.3f})" if title else f"accuracy {accuracy:.3f}")
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def plot_prediction_grid(
    images: Sequence[np.ndarray[Any, Any]],
    predicted: Sequence[str],
    confidence: Sequence[float],
    path: Path,
    truth: Sequence[str] | None = None,
    columns: int = 5,
) -> Path:
    """A grid of images titled with the predicted class and its confidence.

    With ``truth``, titles also name the true class and wrong predictions are drawn in red.
    """
    count = len(images)
    columns = max(1, min(columns, count))
    rows = max(1, -(-count // columns))
    figure = _figure(2.4 * columns, 2.6 * rows)
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for ax in axes:
        ax.axis("off")
    for i, (ax, image) in enumerate(zip(axes, images, strict=False)):
        ax.imshow(image)
        text = f"{predicted[i]}\n{confidence[i]:.2f}"
        colour = "black"
        if truth is not None:
            text = f"{predicted[i]} {confidence[i]:.2f}\ntrue: {truth[i]}"
            colour = "green" if truth[i] == predicted[i] else "red"
        ax.set_title(text, fontsize=8, color=colour)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path
