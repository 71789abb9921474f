"""MNIST's layout: a digit fitted into 20x20 and centred by its centre of mass in 28x28."""

from __future__ import annotations

import numpy as np

from modelship.data.mnist_layout import BOX, FRAME, mnist_layout


def _box(frame: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(frame.any(axis=1))
    cols = np.flatnonzero(frame.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def _centre(frame: np.ndarray) -> tuple[float, float]:
    ys, xs = np.indices(frame.shape)
    total = frame.sum()
    return float((ys * frame).sum() / total), float((xs * frame).sum() / total)


def test_a_small_digit_in_a_corner_is_fitted_and_centred() -> None:
    canvas = np.zeros((200, 300), np.float32)
    canvas[10:70, 20:50] = 1.0  # a tall stroke in the top-left corner
    out = mnist_layout(canvas)
    assert out.shape == (FRAME, FRAME)
    height, width = _box(out > 0.05)
    assert height == BOX  # the longer side fills the box
    assert width == round(30 * BOX / 60)  # the aspect ratio is kept
    cy, cx = _centre(out)
    assert abs(cy - 13.5) <= 0.5
    assert abs(cx - 13.5) <= 0.5


def test_a_digit_filling_its_frame_shrinks_into_the_box() -> None:
    full = np.zeros((8, 8), np.float32)
    full[:, 3:5] = 1.0
    full[0, :] = 1.0
    out = mnist_layout(full)
    assert max(_box(out > 0.05)) <= BOX
    assert out.min() >= 0.0
    assert out.max() <= 1.0


def test_a_blank_image_stays_blank() -> None:
    assert not mnist_layout(np.zeros((28, 28))).any()
