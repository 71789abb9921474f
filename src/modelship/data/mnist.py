"""MNIST from its standard IDX files, downloaded from mirrors into a cache directory if missing.

A directory is used as is when it holds the four files (plain or ``.gz``), so any dataset in
MNIST's format (Fashion-MNIST, a private set) loads the same way; checksums only guard what
this module downloads itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelship.data.dataset import IMAGE_SHAPE, Dataset
from modelship.data.download import fetch_verified
from modelship.data.idx import read_idx
from modelship.errors import DataUnavailable, InvalidInput

__all__ = ["MNIST_FILES", "MNIST_MIRRORS", "MNIST_SHA256", "find_idx", "load_mnist"]

# role -> file name without the .gz suffix, as MNIST distributes them
MNIST_FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# Public mirrors of the original files (the original host no longer serves them reliably).
MNIST_MIRRORS: tuple[str, ...] = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
# sha256 of the compressed files as the mirrors serve them, in sha256sum's format
_SHA256SUMS = """
440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609  train-images-idx3-ubyte.gz
3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c  train-labels-idx1-ubyte.gz
8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6  t10k-images-idx3-ubyte.gz
f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6  t10k-labels-idx1-ubyte.gz
"""
MNIST_SHA256: dict[str, str] = {
    name: digest for digest, name in (line.split() for line in _SHA256SUMS.strip().splitlines())
}


def find_idx(directory: Path, stem: str) -> Path | None:
    """The IDX file for ``stem`` in ``directory``: the plain file first, then the .gz."""
    for candidate in (directory / stem, directory / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _images(array: np.ndarray[Any, Any], path: Path) -> np.ndarray[Any, np.dtype[np.float32]]:
    if array.ndim != 3 or array.shape[1:] != IMAGE_SHAPE:
        raise InvalidInput(f"{path} holds images of shape {array.shape}, expected N x 28 x 28")
    if array.dtype != np.uint8:
        raise InvalidInput(f"{path} holds {array.dtype} pixels, expected unsigned bytes")
    scaled = array.astype(np.float32)
    scaled /= np.float32(255.0)  # in place: one float copy of the images, not two
    return scaled


def _labels(array: np.ndarray[Any, Any], path: Path) -> np.ndarray[Any, np.dtype[np.int64]]:
    if array.ndim != 1:
        raise InvalidInput(f"{path} holds labels of shape {array.shape}, expected one per image")
    return array.astype(np.int64)


def load_mnist(
    directory: Path,
    *,
    mirrors: Sequence[str] | None = MNIST_MIRRORS,
    checksums: Mapping[str, str] = MNIST_SHA256,
    show_progress: bool = True,
    timeout: float = 60.0,
) -> Dataset:
    """Load MNIST's IDX files from ``directory``, downloading the missing ones first.

    Args:
        directory: the cache directory holding (or receiving) the four IDX files.
        mirrors: base URLs to download missing files from, tried in order; ``None`` or empty
            never downloads.
        checksums: expected sha256 per downloaded ``.gz`` file name.
        show_progress: show download progress bars.
        timeout: seconds allowed for each network operation of a download.

    Raises:
        DataUnavailable: a file is missing and could not be downloaded.
        InvalidInput: a file is not a valid IDX file of MNIST's shape.
    """
    paths: dict[str, Path] = {}
    for role, stem in MNIST_FILES.items():
        found = find_idx(directory, stem)
        if found is None:
            if not mirrors:
                raise DataUnavailable(
                    f"{directory} has no {stem}[.gz] and downloading is off; "
                    f"copy MNIST's four IDX files there or configure a mirror"
                )
            name = f"{stem}.gz"
            if name not in checksums:
                raise DataUnavailable(
                    f"no sha256 known for {name}; refusing an unverified download"
                )
            found = fetch_verified(
                name,
                directory,
                mirrors,
                checksums[name],
                timeout=timeout,
                show_progress=show_progress,
            )
        paths[role] = found
    arrays = {role: read_idx(path) for role, path in paths.items()}
    x_train, x_test = (
        _images(arrays["x_train"], paths["x_train"]),
        _images(arrays["x_test"], paths["x_test"]),
    )
    y_train, y_test = (
        _labels(arrays["y_train"], paths["y_train"]),
        _labels(arrays["y_test"], paths["y_test"]),
    )
    for part, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if len(x) != len(y):
            raise InvalidInput(
                f"MNIST {part} split in {directory}: {len(x)} images but {len(y)} labels"
            )
    return Dataset(
        x_train=x_train,
        y_train=y_train,
        x_test=x_test,
        y_test=y_test,
        name="mnist",
        labels=[str(i) for i in range(10)],
        source=f"MNIST IDX files in {directory}",
    )
