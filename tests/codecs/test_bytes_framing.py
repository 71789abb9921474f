"""BYTES tensors in the Open Inference Protocol's binary framing: 4-byte little-endian lengths."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.codecs.bytes_framing import as_bytes, join_bytes, split_bytes
from modelship.errors import InvalidInput


def _objects(*items: bytes) -> np.ndarray:
    array = np.empty(len(items), dtype=object)
    array[:] = list(items)
    return array


def test_join_writes_each_element_after_its_little_endian_length() -> None:
    assert join_bytes(_objects(b"ab", b"", b"xyz")) == (
        b"\x02\x00\x00\x00ab" + b"\x00\x00\x00\x00" + b"\x03\x00\x00\x00xyz"
    )


def test_join_then_split_gives_back_every_element() -> None:
    items = (b"", b"a", b"\x00\xff" * 300, bytes(range(256)))
    framed = join_bytes(_objects(*items))
    back = split_bytes("x", framed)
    assert back.dtype == object
    assert back.shape == (4,)
    assert back.tolist() == list(items)


def test_split_takes_a_memoryview_and_returns_bytes() -> None:
    back = split_bytes("x", memoryview(b"\x01\x00\x00\x00z\x02\x00\x00\x00hi"))
    assert back.tolist() == [b"z", b"hi"]
    assert all(type(item) is bytes for item in back)


def test_join_flattens_any_shape_in_row_major_order() -> None:
    grid = _objects(b"a", b"b", b"c", b"d").reshape(2, 2)
    assert split_bytes("x", join_bytes(grid)).tolist() == [b"a", b"b", b"c", b"d"]


def test_str_elements_are_sent_as_utf8() -> None:
    framed = join_bytes(np.array(["é", "ok"], dtype=object))
    assert framed == b"\x02\x00\x00\x00\xc3\xa9\x02\x00\x00\x00ok"
    assert join_bytes(np.array(["é"])) == b"\x02\x00\x00\x00\xc3\xa9"  # numpy's str dtype too


def test_empty_data_holds_no_element() -> None:
    empty = split_bytes("x", b"")
    assert empty.shape == (0,)
    assert empty.dtype == object
    assert join_bytes(np.empty(0, dtype=object)) == b""


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_data_ending_inside_a_length_prefix_is_refused(cut: int) -> None:
    framed = join_bytes(_objects(b"ab", b"cd"))
    with pytest.raises(InvalidInput, match=r"input 'img': BYTES data ends inside a length prefix"):
        split_bytes("img", framed[: 6 + cut])


@pytest.mark.parametrize("cut", [4, 5, 10, 13])
def test_data_ending_inside_an_element_is_refused(cut: int) -> None:
    framed = join_bytes(_objects(b"ab", b"cdef"))  # 6 + 8 bytes
    with pytest.raises(InvalidInput, match=r"input 'img': a BYTES element runs past its data"):
        split_bytes("img", framed[:cut])


def test_a_length_larger_than_the_data_is_refused() -> None:
    with pytest.raises(InvalidInput, match="runs past its data"):
        split_bytes("x", b"\xff\xff\xff\xffabc")


def test_as_bytes_encodes_str_and_copies_buffers() -> None:
    assert as_bytes("né") == b"n\xc3\xa9"
    assert as_bytes(b"raw") == b"raw"
    assert as_bytes(bytearray(b"ba")) == b"ba"
    assert as_bytes(np.bytes_(b"np")) == b"np"
