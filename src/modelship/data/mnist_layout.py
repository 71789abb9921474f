"""MNIST's layout for any digit image: how LeCun, Cortes and Burges prepared the MNIST digits.

Each digit was size-normalised to fit a 20x20 box, keeping its aspect ratio, then placed in a
28x28 frame so that its centre of mass sits at the frame's centre. A model trained on MNIST
expects exactly that; a digit filling the frame, or drawn in a corner, looks like nothing it
has seen. The bundled digits and a PNG given to ``modelship predict`` both go through here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

__all__ = ["BOX", "FRAME", "mnist_layout"]

FRAME = 28
BOX = 20
# Ink below this share of the brightest pixel is background (scanner noise, antialiasing).
_INK = 0.05


def mnist_layout(pixels: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
    """``pixels`` (light ink on a dark background, values in [0, 1]) in MNIST's 28x28 layout.

    A blank image comes back blank.
    """
    image = np.asarray(pixels, dtype=np.float32)
    out = np.zeros((FRAME, FRAME), dtype=np.float32)
    peak = float(image.max()) if image.size else 0.0
    if peak <= 0:
        return out
    rows = np.flatnonzero((image > _INK * peak).any(axis=1))
    cols = np.flatnonzero((image > _INK * peak).any(axis=0))
    ink = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = ink.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Mode "F" resamples in float: no 8-bit rounding of faint strokes.
    fitted = np.array(Image.fromarray(ink, mode="F").resize(size, Image.Resampling.LANCZOS))
    np.clip(fitted, 0.0, 1.0, out=fitted)
    top, left = (FRAME - size[1]) // 2, (FRAME - size[0]) // 2
    out[top : top + size[1], left : left + size[0]] = fitted
    return _centre_mass(out)


def _centre_mass(frame: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, Any]:
    """``frame`` shifted by whole pixels so its centre of mass is the frame's centre, as far
    as the shift keeps every ink pixel inside."""
    total = float(frame.sum())
    ys, xs = np.indices(frame.shape)
    dy = round((FRAME - 1) / 2 - float((ys * frame).sum()) / total)
    dx = round((FRAME - 1) / 2 - float((xs * frame).sum()) / total)
    rows = np.flatnonzero(frame.any(axis=1))
    cols = np.flatnonzero(frame.any(axis=0))
    dy = int(np.clip(dy, -rows[0], FRAME - 1 - rows[-1]))
    dx = int(np.clip(dx, -cols[0], FRAME - 1 - cols[-1]))
    return np.roll(frame, (dy, dx), axis=(0, 1))
