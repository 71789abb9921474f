"""TFRecord framing against files written by TensorFlow's own writer."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship.errors import BadConfig
from modelship.lifecycle.warmup import read_records

tf = pytest.importorskip("tensorflow")


def _write(path: Path, records: list[bytes]) -> Path:
    with tf.io.TFRecordWriter(str(path)) as writer:
        for record in records:
            writer.write(record)
    return path


def test_records_come_back_as_tensorflow_wrote_them(tmp_path: Path) -> None:
    records = [b"", b"a", b"\x00\xff" * 300, bytes(range(256))]
    assert list(read_records(_write(tmp_path / "r", records))) == records


def test_an_empty_file_holds_no_record(tmp_path: Path) -> None:
    assert list(read_records(_write(tmp_path / "r", []))) == []


def test_every_truncation_is_refused_with_the_record_named(tmp_path: Path) -> None:
    content = _write(tmp_path / "r", [b"first record", b"second record"]).read_bytes()
    first_end = 8 + 4 + len(b"first record") + 4
    for cut in range(1, len(content)):
        if cut == first_end:
            continue  # a whole first record: a valid file of one record
        (tmp_path / "cut").write_bytes(content[:cut])
        with pytest.raises(BadConfig, match=r"record [01] at byte \d+ is truncated"):
            list(read_records(tmp_path / "cut"))


def test_a_missing_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(BadConfig, match="cannot read"):
        list(read_records(tmp_path / "absent"))


@pytest.mark.parametrize(
    ("position", "what"), [(2, "its length's checksum"), (8 + 4 + 3, "its data's checksum")]
)
def test_a_changed_byte_is_reported_as_corruption(tmp_path: Path, position: int, what: str) -> None:
    content = bytearray(_write(tmp_path / "r", [b"first record", b"second record"]).read_bytes())
    content[position] ^= 0x01  # one bit, in the length or in the first record's data
    (tmp_path / "changed").write_bytes(bytes(content))
    with pytest.raises(BadConfig, match=rf"record 0 at byte 0 is corrupt \({what}"):
        list(read_records(tmp_path / "changed"))
