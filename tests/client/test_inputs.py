"""What ``modelship predict`` makes of files: images shaped for the input, named arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from modelship.client.inputs import load_examples, load_named


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:, :, 0] = 200  # red
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    return path


@pytest.mark.parametrize(
    ("shape", "dtype", "batch_shape"),
    [
        ((32, 32, 3), "float32", (1, 32, 32, 3)),
        ((3, 16, 24), "float32", (1, 3, 16, 24)),
        ((64, 64, 1), "uint8", (1, 64, 64, 1)),
        ((10, 12), "float32", (1, 10, 12)),
        ((-1, -1, 3), "float32", (1, 40, 60, 3)),
    ],
)
def test_an_image_takes_the_inputs_size_channels_and_type(
    photo: Path, shape: tuple[int, ...], dtype: str, batch_shape: tuple[int, ...]
) -> None:
    batch = load_examples(photo, shape, dtype)
    assert batch.shape == batch_shape
    assert batch.dtype == np.dtype(dtype)
    if shape[-1] == 3:
        assert batch[..., 0].mean() == pytest.approx(200 / 255, abs=0.01)
        assert batch[..., 1].max() == 0
    if dtype == "uint8":
        assert batch.max() > 1


def test_a_drawn_digit_gets_mnists_layout(tmp_path: Path) -> None:
    # Black ink on white paper, far off-centre, as a paint program saves it.
    paper = np.full((280, 280), 255, np.uint8)
    paper[20:120, 200:230] = 0
    Image.fromarray(paper).save(tmp_path / "seven.png")
    (image,) = load_examples(tmp_path / "seven.png", (784,))
    frame = image.reshape(28, 28)
    rows = np.flatnonzero((frame > 0.05).any(axis=1))
    assert rows[-1] - rows[0] + 1 == 20
    ys, xs = np.indices(frame.shape)
    assert abs(float((ys * frame).sum() / frame.sum()) - 13.5) <= 0.5
    assert abs(float((xs * frame).sum() / frame.sum()) - 13.5) <= 0.5


def test_a_shape_that_is_no_image_is_refused(photo: Path) -> None:
    with pytest.raises(ValueError, match="not an image"):
        load_examples(photo, (7,))


def test_named_arrays_come_from_an_npz(tmp_path: Path) -> None:
    np.savez(tmp_path / "in.npz", ids=np.array([[1, 2]]), x=np.array([[0.5, 1.5, 2.5]]))
    specs = {"ids": ("int64", (2,)), "x": ("float32", (3,))}
    arrays = load_named(tmp_path / "in.npz", specs)
    assert arrays["ids"].dtype.kind == "i"
    assert arrays["x"].dtype == np.float32
    with pytest.raises(ValueError, match="missing z; unknown x"):
        load_named(tmp_path / "in.npz", {"ids": ("int64", (2,)), "z": ("float32", (3,))})
