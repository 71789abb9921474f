from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from modelship.data.idx import read_idx, write_idx
from modelship.errors import InvalidInput


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_round_trip_plain_and_gzip(tmp_path: Path, name: str) -> None:
    images = np.arange(2 * 28 * 28, dtype=np.uint16).reshape(2, 28, 28).astype(np.uint8)
    path = write_idx(tmp_path / name, images)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    np.testing.assert_array_equal(read_idx(path), images)


def test_header_is_big_endian_as_mnist_writes_it(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels", np.array([3, 1, 4], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 3, 1, 4])


def test_multi_byte_values_are_decoded_big_endian(tmp_path: Path) -> None:
    values = np.array([[1, -2], [300, 70000]], dtype=np.int32)
    path = write_idx(tmp_path / "ints", values)
    assert path.read_bytes()[12:16] == b"\x00\x00\x00\x01"
    np.testing.assert_array_equal(read_idx(path), values)


def test_bad_magic_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not-idx"
    path.write_bytes(b"PK\x03\x04 definitely a zip")
    with pytest.raises(InvalidInput, match="not an IDX file"):
        read_idx(path)


def test_truncated_data_is_refused(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x", np.zeros((4, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(InvalidInput, match="truncated"):
        read_idx(path)


def test_damaged_gzip_is_refused(tmp_path: Path) -> None:
    blob = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x02\x01\x02")
    path = tmp_path / "x.gz"
    path.write_bytes(blob[:-6])
    with pytest.raises(InvalidInput, match="damaged gzip"):
        read_idx(path)
