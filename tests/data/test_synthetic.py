"""The bundled synthetic image set."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from modelship.data.synthetic import SYNTHETIC_CLASSES, write_synthetic_images
from modelship.errors import InvalidInput


def test_writes_one_folder_per_class_with_jpeg_and_png(tmp_path: Path) -> None:
    names = write_synthetic_images(tmp_path, classes=5, per_class=6, size=40, seed=3)
    assert names == list(SYNTHETIC_CLASSES)[:5]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        files = sorted((tmp_path / name).iterdir())
        assert len(files) == 6
        formats = set()
        for path in files:
            with Image.open(path) as image:
                formats.add(image.format)
                assert image.size == (40, 40)
        assert formats == {"JPEG", "PNG"}
    with Image.open(tmp_path / names[0] / "0001.png") as image:
        assert image.mode == "RGBA"


def test_same_seed_same_bytes_other_seed_other_images(tmp_path: Path) -> None:
    write_synthetic_images(tmp_path / "a", classes=2, per_class=2, seed=1)
    write_synthetic_images(tmp_path / "b", classes=2, per_class=2, seed=1)
    write_synthetic_images(tmp_path / "c", classes=2, per_class=2, seed=2)
    one = (tmp_path / "a/red_circle/0000.jpg").read_bytes()
    assert one == (tmp_path / "b/red_circle/0000.jpg").read_bytes()
    assert one != (tmp_path / "c/red_circle/0000.jpg").read_bytes()


@pytest.mark.parametrize(("classes", "per_class"), [(1, 5), (7, 5), (3, 1)])
def test_refuses_impossible_sets(tmp_path: Path, classes: int, per_class: int) -> None:
    with pytest.raises(InvalidInput):
        write_synthetic_images(tmp_path, classes=classes, per_class=per_class)
