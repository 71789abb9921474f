"""TFRecord files read record by record: the framing TensorFlow writes, nothing more.

Each record is a little-endian uint64 length, a uint32 masked CRC32C of those 8 bytes, the
data, then a uint32 masked CRC32C of the data. Both checksums are verified (google-crc32c), so
a corrupt length is reported as such instead of as a truncation, and altered data as altered
instead of as whatever its parse happens to give.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import google_crc32c

from modelship.errors import BadConfig

__all__ = ["read_records"]

_HEADER = struct.Struct("<QI")  # length, masked CRC32C of the length
_FOOTER = struct.Struct("<I")  # masked CRC32C of the data
_MASK_DELTA = 0xA282EAD8


def _masked_crc(data: bytes | memoryview) -> int:
    """TFRecord's checksum: CRC32C rotated right by 15 bits plus a constant, mod 2**32."""
    crc = int(google_crc32c.value(bytes(data)))
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def read_records(path: Path) -> Iterator[bytes]:
    """Yield the data of each record of the TFRecord file at ``path``, in order.

    Raises:
        BadConfig: the file cannot be read, or ends inside a record (truncated or not a
            TFRecord file); the message names the file, the record and the offset.
    """
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise BadConfig(f"cannot read {path}: {exc.strerror or exc}") from exc
    # Whole file in memory: warm-up files hold a handful of requests, and slicing a bytes
    # object is simpler and safer than tracking short reads on a stream.
    view = memoryview(content)
    offset, index = 0, 0
    while offset < len(content):
        if len(content) - offset < _HEADER.size:
            raise BadConfig(
                f"{path}: record {index} at byte {offset} is truncated "
                f"({len(content) - offset} bytes left, a record header needs {_HEADER.size})"
            )
        length, length_crc = _HEADER.unpack_from(view, offset)
        if _masked_crc(view[offset : offset + 8]) != length_crc:
            raise BadConfig(
                f"{path}: record {index} at byte {offset} is corrupt (its length's checksum "
                "does not match): not a TFRecord file, or damaged"
            )
        start = offset + _HEADER.size
        end = start + length + _FOOTER.size
        if end > len(content):
            raise BadConfig(
                f"{path}: record {index} at byte {offset} is truncated or corrupt "
                f"(it declares {length} bytes, the file has {len(content) - start} left)"
            )
        data = view[start : start + length]
        (data_crc,) = _FOOTER.unpack_from(view, start + length)
        if _masked_crc(data) != data_crc:
            raise BadConfig(
                f"{path}: record {index} at byte {offset} is corrupt (its data's checksum "
                "does not match)"
            )
        yield bytes(data)
        offset, index = end, index + 1
