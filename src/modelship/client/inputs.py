"""Reads what a user hands to ``modelship predict``: images, .npy, .npz and .json arrays, shaped
for the signature they are sent to."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from modelship.data.mnist_layout import FRAME, mnist_layout

__all__ = ["IMAGE_SUFFIXES", "InputSpec", "load_examples", "load_named"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}

# An input's dtype (numpy name) and its dimensions after the batch one (-1: any size).
InputSpec = tuple[str, tuple[int, ...]]


def load_examples(
    path: Path, example_shape: tuple[int, ...], dtype: str = "float32"
) -> np.ndarray[Any, Any]:
    """The examples in ``path`` as a batch shaped ``(n, *example_shape)``.

    An image becomes one example, resized to the input's height, width and channels; a
    28x28 grayscale input gets MNIST's layout (light digit on dark, fitted into 20x20 and
    centred by its centre of mass). Arrays may hold one example or a batch; integers stay
    integers (the server refuses what does not fit the input's type).
    """
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return _image(path, example_shape, dtype)[None, ...]
    if suffix == ".npy":
        array = np.load(path, allow_pickle=False)
    elif suffix == ".json":
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            data = data.get("instances", data.get("inputs"))
        array = np.asarray(data)
    else:
        raise ValueError(
            f"{path}: expected an image (.png, .jpg...), a .npy or a .json array "
            "(an .npz or a .json object names one array per input)"
        )
    return _batch(path, array, example_shape, dtype)


def load_named(path: Path, specs: Mapping[str, InputSpec]) -> dict[str, np.ndarray[Any, Any]]:
    """One batch per input from an ``.npz`` (an array per input name) or a ``.json`` object
    (``{"a": [...], "b": [...]}``, or TF Serving's ``{"inputs": {...}}``)."""
    suffix = path.suffix.lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            arrays: dict[str, Any] = {name: archive[name] for name in archive.files}
    elif suffix == ".json":
        data = json.loads(path.read_text())
        if isinstance(data, dict) and isinstance(data.get("inputs"), dict):
            data = data["inputs"]
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object with one array per input")
        arrays = data
    else:
        raise ValueError(f"{path}: expected an .npz or a .json object with one array per input")
    missing = sorted(set(specs) - set(arrays))
    unknown = sorted(set(arrays) - set(specs))
    if missing or unknown:
        raise ValueError(
            f"{path}: the model takes {', '.join(specs)}; "
            + "; ".join(
                f"{what} {', '.join(names)}"
                for what, names in (("missing", missing), ("unknown", unknown))
                if names
            )
        )
    return {
        name: _batch(path, np.asarray(arrays[name]), dims, dtype)
        for name, (dtype, dims) in specs.items()
    }


def _batch(
    path: Path, array: np.ndarray[Any, Any], example_shape: tuple[int, ...], dtype: str
) -> np.ndarray[Any, Any]:
    if np.dtype(dtype).kind == "f":
        array = np.asarray(array, dtype=dtype)
    # Anything else travels as it was written: the server says if 2.5 is no int64.
    if any(d < 0 for d in example_shape):
        # Variable dimensions: the array's own shape is the example's (one or a batch).
        return array if array.ndim == len(example_shape) + 1 else array[None, ...]
    size = int(np.prod(example_shape))
    if size == 0 or array.size % size:
        raise ValueError(
            f"{path}: {array.size} values is not a whole number of {size}-value examples"
        )
    return array.reshape((-1, *example_shape))


def _layout(example_shape: tuple[int, ...]) -> tuple[int, int, int, bool]:
    """(height, width, channels, channels first) of an image input; -1 for any size."""
    dims = example_shape
    if len(dims) == 1:
        side = round(max(dims[0], 0) ** 0.5)
        if side * side == dims[0]:
            return side, side, 1, False
    elif len(dims) == 2:
        return dims[0], dims[1], 1, False
    elif len(dims) == 3:
        if dims[2] in (1, 3, 4):
            return dims[0], dims[1], dims[2], False
        if dims[0] in (1, 3, 4):
            return dims[1], dims[2], dims[0], True
    raise ValueError(
        f"the model takes examples shaped {list(example_shape)}, which is not an image "
        "(height x width, with 1, 3 or 4 channels first or last)"
    )


def _image(path: Path, example_shape: tuple[int, ...], dtype: str) -> np.ndarray[Any, Any]:
    from PIL import Image

    height, width, channels, first = _layout(example_shape)
    mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
    with Image.open(path) as image:
        converted = image.convert(mode)
        if height > 0 and width > 0 and (height, width) != (FRAME, FRAME):
            converted = converted.resize((width, height), Image.Resampling.BILINEAR)
        pixels = np.asarray(converted, dtype=np.float32) / 255.0
    if channels == 1 and (height, width) == (FRAME, FRAME):
        # MNIST-shaped: light digits on dark, laid out as MNIST's were.
        if pixels.mean() > 0.5:
            pixels = 1.0 - pixels
        pixels = mnist_layout(pixels)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if first:
        pixels = np.moveaxis(pixels, -1, 0)
    if np.dtype(dtype).kind in "iu":
        pixels = np.rint(pixels * 255.0)
    array = np.asarray(pixels, dtype=dtype)
    return array if any(d < 0 for d in example_shape) else array.reshape(example_shape)
