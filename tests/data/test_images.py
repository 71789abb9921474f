"""Image folders, the shared preprocessing, colour conversion and augmentation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from modelship.data.images import (
    ImagePreprocessing,
    augment,
    class_names,
    load_image_folder,
    load_pixels,
    to_rgb,
)
from modelship.data.synthetic import write_synthetic_images
from modelship.errors import InvalidInput


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("folder")
    write_synthetic_images(root, classes=3, per_class=10, size=48, seed=0)
    return root


def test_loads_classes_from_folder_names_with_a_seeded_split(folder: Path) -> None:
    spec = ImagePreprocessing(size=(32, 24))
    data = load_image_folder(folder, spec, val_fraction=0.2, seed=7)
    assert data.labels == sorted(p.name for p in folder.iterdir())
    assert data.labels == list(class_names(folder))
    assert data.x_train.shape == (24, 32, 24, 3)
    assert data.x_train.dtype == np.uint8
    assert data.x_val.shape == (6, 32, 24, 3)
    # Every class is in both parts, two of each in validation.
    assert np.bincount(data.y_val).tolist() == [2, 2, 2]
    assert [f.parent.name for f in data.files_val] == [data.labels[y] for y in data.y_val]
    again = load_image_folder(folder, spec, val_fraction=0.2, seed=7)
    assert again.files_val == data.files_val
    other = load_image_folder(folder, spec, val_fraction=0.2, seed=8)
    assert other.files_val != data.files_val


def test_default_size_is_224(folder: Path) -> None:
    assert load_pixels(next((folder / "red_circle").iterdir()), ImagePreprocessing()).shape == (
        224,
        224,
        3,
    )


def test_refuses_folders_that_are_not_datasets(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a directory"):
        load_image_folder(tmp_path / "missing")
    (tmp_path / "only").mkdir()
    with pytest.raises(InvalidInput, match="at least two"):
        load_image_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="holds no images"):
        load_image_folder(tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "only" / "a.png")
    (tmp_path / "empty" / "broken.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(InvalidInput, match=r"broken\.jpg"):
        load_image_folder(tmp_path)


def test_preprocessing_round_trips_through_the_manifest() -> None:
    spec = ImagePreprocessing(size=(64, 48), layout="NCHW", normalize_in_model=False)
    data = spec.to_json()
    assert data["kind"] == "image"
    assert ImagePreprocessing.from_json(data) == spec
    assert ImagePreprocessing.from_json({}) is None
    assert ImagePreprocessing.from_json({"kind": "text"}) is None


def test_to_tensor_scales_normalises_and_transposes() -> None:
    pixels = np.full((2, 4, 5, 3), 255, dtype=np.uint8)
    nhwc = ImagePreprocessing(size=(4, 5)).to_tensor(pixels)
    assert nhwc.shape == (2, 4, 5, 3)
    assert nhwc.dtype == np.float32
    np.testing.assert_allclose(nhwc, 1.0)
    spec = ImagePreprocessing(
        size=(4, 5), layout="NCHW", normalize_in_model=False, mean=(0.5, 0.5, 0.5),
        std=(0.25, 0.5, 1.0),
    )  # fmt: skip
    nchw = spec.to_tensor(pixels)
    assert nchw.shape == (2, 3, 4, 5)
    np.testing.assert_allclose(nchw[0, :, 0, 0], [2.0, 1.0, 0.5])


def test_to_rgb_converts_every_mode() -> None:
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # pure red in CMYK
    assert to_rgb(cmyk).getpixel((0, 0)) == (255, 0, 0)
    sixteen = Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16))
    assert sixteen.mode.startswith("I;16")
    assert to_rgb(sixteen).getpixel((0, 0)) == (255, 255, 255)
    half = Image.fromarray(np.full((4, 4), 32768, dtype=np.uint16))
    assert to_rgb(half).getpixel((0, 0))[0] in (127, 128)
    transparent = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert to_rgb(transparent).getpixel((0, 0)) == (255, 255, 255)
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    assert to_rgb(palette).getpixel((0, 0)) == (0, 0, 255)
    palette.info["transparency"] = 1
    assert to_rgb(palette).getpixel((0, 0)) == (255, 255, 255)
    gray = Image.new("L", (4, 4), 9)
    assert to_rgb(gray).getpixel((0, 0)) == (9, 9, 9)


def test_augment_flips_and_shifts_deterministically() -> None:
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, size=(16, 10, 10, 3), dtype=np.uint8)
    same = augment(batch, np.random.default_rng(0), flip=False, max_shift=0)
    np.testing.assert_array_equal(same, batch)
    flipped = augment(batch, np.random.default_rng(1), flip=True, max_shift=0)
    mirrored = [np.array_equal(f, b[:, ::-1]) for f, b in zip(flipped, batch, strict=True)]
    kept = [np.array_equal(f, b) for f, b in zip(flipped, batch, strict=True)]
    assert any(mirrored)
    assert any(kept)
    assert all(m or k for m, k in zip(mirrored, kept, strict=True))
    one = augment(batch, np.random.default_rng(5), max_shift=0.2)
    two = augment(batch, np.random.default_rng(5), max_shift=0.2)
    np.testing.assert_array_equal(one, two)
    assert one.shape == batch.shape
    assert not np.array_equal(one, batch)
    assert batch is not one
