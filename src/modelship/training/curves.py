"""The training-curve figure: loss and accuracy per epoch, train and test, as a PNG."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_history"]


def plot_history(history: Sequence[dict[str, Any]], path: Path, title: str) -> Path:
    """Draw ``history`` (one dict per epoch) into ``path``.

    Each entry needs ``epoch``, ``loss``, ``accuracy``, ``test_loss`` and ``test_accuracy``.
    """
    import matplotlib

    # Agg renders to files only: no display, no GUI toolkit, safe in containers and threads.
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    epochs = [h["epoch"] for h in history]
    figure = Figure(figsize=(9, 3.6), dpi=100)
    loss_ax, acc_ax = figure.subplots(1, 2)
    for ax, key, label in ((loss_ax, "loss", "loss"), (acc_ax, "accuracy", "accuracy")):
        ax.plot(epochs, [h[key] for h in history], marker="o", label="train")
        ax.plot(epochs, [h[f"test_{key}"] for h in history], marker="o", label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.set_xticks(epochs)
        ax.grid(alpha=0.3)
        ax.legend()
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path
