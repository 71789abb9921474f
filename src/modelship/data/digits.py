"""The offline default dataset: scikit-learn's bundled handwritten digits, laid out like MNIST.

This is NOT MNIST. scikit-learn ships 1,797 digits of 8x8 pixels (the UCI "optical recognition
of handwritten digits" set) inside its wheel, so training works with no network at all. Each
image is scaled to [0, 1] and laid out as MNIST's digits were (fitted into a 20x20 box and
centred by its centre of mass in a 28x28 frame, :mod:`modelship.data.mnist_layout`), so a model
trained here takes exactly MNIST's input and sees digits placed where MNIST places them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from modelship.data.dataset import IMAGE_SHAPE, Dataset, stratified_split
from modelship.data.mnist_layout import mnist_layout
from modelship.errors import RuntimeUnavailable

__all__ = ["DIGITS_NAME", "DIGITS_SOURCE", "load_digits_dataset", "upscale"]

DIGITS_NAME = "sklearn-digits"
DIGITS_SOURCE = (
    "scikit-learn's bundled digits (sklearn.datasets.load_digits: 1,797 8x8 images, not MNIST), "
    "fitted into 20x20 and centred by centre of mass in 28x28, as MNIST's digits"
)
# load_digits stores ink as integers 0..16.
_DIGITS_MAX = 16.0


def upscale(
    images: np.ndarray[Any, Any], max_value: float
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Resize small grayscale images into MNIST's 28x28 layout, values scaled to [0, 1].

    Args:
        images: ``N x h x w`` array of ink intensities in ``[0, max_value]``.
        max_value: the intensity that maps to 1.0.
    """
    out = np.zeros((len(images), *IMAGE_SHAPE), dtype=np.float32)
    for i, image in enumerate(images):
        # Mode "F" keeps the resampling in float, so no precision is lost to 8-bit rounding.
        small = Image.fromarray(np.asarray(image, dtype=np.float32) / max_value, mode="F")
        big = small.resize((IMAGE_SHAPE[1], IMAGE_SHAPE[0]), Image.Resampling.LANCZOS)
        out[i] = np.asarray(big)
    # Lanczos rings slightly past its inputs' range at sharp edges; the Dataset contract is
    # [0, 1].
    np.clip(out, 0.0, 1.0, out=out)
    return out


def load_digits_dataset(test_fraction: float = 0.2, split_seed: int = 0) -> Dataset:
    """scikit-learn's digits as a 28x28 :class:`Dataset`, split per class with a fixed seed.

    Args:
        test_fraction: share of each class held out for the test split.
        split_seed: seed of the split; the default gives the split every model here is tested on.
    """
    try:
        from sklearn.datasets import load_digits
    except ModuleNotFoundError as exc:
        raise RuntimeUnavailable(
            "the bundled digits need scikit-learn: pip install 'modelship[torch]' "
            "(or point --data at a directory of MNIST IDX files)"
        ) from exc
    bunch = load_digits()
    x = np.stack([mnist_layout(image / _DIGITS_MAX) for image in bunch.images])
    y = np.asarray(bunch.target, dtype=np.int64)
    train, test = stratified_split(y, test_fraction, split_seed)
    return Dataset(
        x_train=x[train],
        y_train=y[train],
        x_test=x[test],
        y_test=y[test],
        name=DIGITS_NAME,
        labels=[str(i) for i in range(10)],
        source=DIGITS_SOURCE,
    )
