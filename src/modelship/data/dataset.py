"""The in-memory dataset every trainer consumes, whatever file format it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelship.errors import InvalidInput

__all__ = ["IMAGE_SHAPE", "Dataset", "stratified_split"]

# Every image dataset here is normalised to MNIST's geometry: 28x28 grayscale, values in [0, 1].
IMAGE_SHAPE = (28, 28)


@dataclass(frozen=True)
class Dataset:
    """A train/test split of 28x28 grayscale images with integer class labels.

    Attributes:
        x_train: float32 array ``N x 28 x 28`` with values in ``[0, 1]``.
        y_train: int64 array ``N`` of class indices into ``labels``.
        x_test: float32 array ``M x 28 x 28`` with values in ``[0, 1]``.
        y_test: int64 array ``M``.
        name: short name recorded in the manifest (``mnist``, ``sklearn-digits``).
        labels: class names, index-aligned with the label values.
        source: one sentence saying where the data came from, shown to users.
    """

    x_train: np.ndarray[Any, np.dtype[np.float32]]
    y_train: np.ndarray[Any, np.dtype[np.int64]]
    x_test: np.ndarray[Any, np.dtype[np.float32]]
    y_test: np.ndarray[Any, np.dtype[np.int64]]
    name: str
    labels: list[str] = field(default_factory=lambda: [str(i) for i in range(10)])
    source: str = ""

    def __post_init__(self) -> None:
        # Trainers and exporters rely on these invariants; catching a bad loader here gives a
        # clear message instead of a shape error deep inside a framework.
        for part, x, y in (
            ("train", self.x_train, self.y_train),
            ("test", self.x_test, self.y_test),
        ):
            if x.dtype != np.float32 or x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
                raise InvalidInput(
                    f"{self.name} {part} images must be float32 N x 28 x 28, "
                    f"got {x.dtype} {x.shape}"
                )
            if y.dtype != np.int64 or y.shape != (x.shape[0],):
                raise InvalidInput(
                    f"{self.name} {part} labels must be int64 with one per image, "
                    f"got {y.dtype} {y.shape} for {x.shape[0]} images"
                )
            if x.size and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
                raise InvalidInput(f"{self.name} {part} pixel values must lie in [0, 1]")
            if y.size and (int(y.min()) < 0 or int(y.max()) >= len(self.labels)):
                raise InvalidInput(
                    f"{self.name} {part} labels must lie in [0, {len(self.labels) - 1}]"
                )

    @property
    def n_features(self) -> int:
        """Values per flattened image (784)."""
        return IMAGE_SHAPE[0] * IMAGE_SHAPE[1]

    @property
    def n_classes(self) -> int:
        return len(self.labels)


def stratified_split(
    y: np.ndarray[Any, np.dtype[np.int64]], test_fraction: float, seed: int
) -> tuple[np.ndarray[Any, np.dtype[np.intp]], np.ndarray[Any, np.dtype[np.intp]]]:
    """Indices of a seeded split that keeps each class's share in both parts.

    Args:
        y: class labels.
        test_fraction: share of each class that goes to the test part, in ``(0, 1)``.
        seed: the same seed always gives the same split.

    Returns:
        ``(train_indices, test_indices)``, each sorted ascending.
    """
    if not 0.0 < test_fraction < 1.0:
        raise InvalidInput(f"test_fraction must be between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(seed)
    train: list[np.ndarray[Any, np.dtype[np.intp]]] = []
    test: list[np.ndarray[Any, np.dtype[np.intp]]] = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        rng.shuffle(members)
        n_test = round(len(members) * test_fraction)
        test.append(members[:n_test])
        train.append(members[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))
