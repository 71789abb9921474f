"""Datasets: MNIST from IDX files, the bundled scikit-learn digits, and their fingerprints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from modelship.data.dataset import Dataset
from modelship.errors import BadConfig

__all__ = ["DATASETS", "Dataset", "load_dataset"]

DATASETS = ("mnist", "digits")


def load_dataset(
    name: str = "mnist",
    data_dir: Path | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    show_progress: bool = True,
) -> Dataset:
    """Load a dataset by name.

    Args:
        name: ``mnist`` or ``digits``.
        data_dir: for ``mnist``, the directory holding (or receiving) the IDX files. Without
            it, ``mnist`` falls back to scikit-learn's bundled digits, which are not MNIST but
            work offline; the returned dataset's ``name`` and ``source`` say which one it is.
        mirrors: base URLs to download missing MNIST files from; ``None`` uses the public
            mirrors, an empty list never downloads.
        show_progress: show download progress bars.

    Raises:
        BadConfig: unknown dataset name.
    """
    if name not in DATASETS:
        raise BadConfig(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if name == "digits" and data_dir is not None:
        raise BadConfig(
            "the bundled digits ship with scikit-learn and take no data directory; "
            "use the mnist dataset to load IDX files from a directory"
        )
    if name == "mnist" and data_dir is not None:
        from modelship.data.mnist import MNIST_MIRRORS, load_mnist

        return load_mnist(
            Path(data_dir),
            mirrors=MNIST_MIRRORS if mirrors is None else mirrors,
            show_progress=show_progress,
        )
    from modelship.data.digits import load_digits_dataset

    return load_digits_dataset()
