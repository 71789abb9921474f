"""Reads what a user hands to ``modelship predict``: images, .npy and .json arrays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["IMAGE_SUFFIXES", "load_examples"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def load_examples(path: Path, example_shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    """The examples in ``path`` as a float32 batch shaped ``(n, *example_shape)``.

    Images become one example: grayscale, resized to the model's square input (28x28 for a
    784-wide input), scaled to [0, 1], and inverted when the background is light, because MNIST
    digits are light on dark. Arrays may hold one example or a batch.
    """
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return _image(path, example_shape)[None, ...]
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    elif suffix == ".json":
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            data = data.get("instances", data.get("inputs"))
        array = np.asarray(data, dtype=np.float32)
    else:
        raise ValueError(f"{path}: expected an image (.png, .jpg...), a .npy or a .json array")
    array = np.asarray(array, dtype=np.float32)
    size = int(np.prod(example_shape))
    if array.size % size:
        raise ValueError(
            f"{path}: {array.size} values is not a whole number of {size}-value examples"
        )
    return array.reshape((-1, *example_shape))


def _image(path: Path, example_shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    from PIL import Image

    size = int(np.prod(example_shape))
    side = round(size**0.5)
    if side * side != size:
        raise ValueError(f"the model takes {example_shape}, not a square grayscale image")
    with Image.open(path) as image:
        gray = image.convert("L").resize((side, side), Image.Resampling.BILINEAR)
    pixels = np.asarray(gray, dtype=np.float32) / 255.0
    if pixels.mean() > 0.5:
        pixels = 1.0 - pixels
    return pixels.reshape(example_shape)
