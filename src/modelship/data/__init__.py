"""Datasets: MNIST from IDX files, the bundled scikit-learn digits, and their fingerprints."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from modelship.data.dataset import Dataset
from modelship.errors import BadConfig, DataUnavailable, InvalidInput

__all__ = [
    "DATASETS",
    "DATA_DIR_ENV",
    "MIRRORS_ENV",
    "Dataset",
    "default_mnist_dir",
    "load_dataset",
]

DATASETS = ("mnist", "digits")
# Where MNIST is cached when no directory is given, and the mirrors it is fetched from then
# (space- or comma-separated; empty: never download, e.g. offline machines and test suites).
DATA_DIR_ENV = "MODELSHIP_DATA_DIR"
MIRRORS_ENV = "MODELSHIP_MNIST_MIRRORS"
# Seconds per network operation when MNIST is only a default: a machine without network falls
# back to the bundled digits quickly.
DEFAULT_DOWNLOAD_TIMEOUT = 5.0


def default_mnist_dir() -> Path:
    """The MNIST cache: ``$MODELSHIP_DATA_DIR``, else ``~/.cache/modelship/mnist``."""
    configured = os.environ.get(DATA_DIR_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "modelship" / "mnist"


def _default_mirrors() -> Sequence[str]:
    from modelship.data.mnist import MNIST_MIRRORS

    configured = os.environ.get(MIRRORS_ENV)
    if configured is None:
        return MNIST_MIRRORS
    return [m for m in configured.replace(",", " ").split() if m]


def load_dataset(
    name: str = "mnist",
    data_dir: Path | None = None,
    *,
    mirrors: Sequence[str] | None = None,
    checksums: Mapping[str, str] | None = None,
    show_progress: bool = True,
) -> Dataset:
    """Load a dataset by name.

    Args:
        name: ``mnist`` or ``digits``.
        data_dir: for ``mnist``, the directory holding (or receiving) the IDX files. Without
            it, ``mnist`` is cached in :func:`default_mnist_dir`, downloaded there with a short
            timeout if missing, and when that fails falls back to scikit-learn's bundled
            digits, which are not MNIST but work offline; the returned dataset's ``name`` and
            ``source`` say which one it is, and why.
        mirrors: base URLs to download missing MNIST files from; ``None`` uses the public
            mirrors (``$MODELSHIP_MNIST_MIRRORS`` without a directory), an empty list never
            downloads.
        checksums: sha256 per downloaded file name (MNIST's own when ``None``).
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
    from modelship.data.digits import load_digits_dataset
    from modelship.data.mnist import MNIST_MIRRORS, MNIST_SHA256, load_mnist

    if name == "mnist" and data_dir is not None:
        return load_mnist(
            Path(data_dir),
            mirrors=MNIST_MIRRORS if mirrors is None else mirrors,
            show_progress=show_progress,
        )
    if name == "digits":
        return load_digits_dataset()
    cache = default_mnist_dir()
    try:
        return load_mnist(
            cache,
            mirrors=_default_mirrors() if mirrors is None else mirrors,
            checksums=MNIST_SHA256 if checksums is None else checksums,
            show_progress=show_progress,
            timeout=DEFAULT_DOWNLOAD_TIMEOUT,
        )
    except (DataUnavailable, InvalidInput) as exc:
        why = " ".join(exc.message.split())  # every mirror tried and why, on one line
        digits = load_digits_dataset()
        return dataclasses.replace(
            digits, source=f"{digits.source}, because MNIST is not available ({why})"
        )
