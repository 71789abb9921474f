"""TFRecord files read record by record: the framing TensorFlow writes, nothing more.

Each record is a little-endian uint64 length, a uint32 masked CRC32C of those 8 bytes, the
data, then a uint32 masked CRC32C of the data. The checksums are skipped, not verified: no
CRC32C library is among modelship's dependencies, and the framing alone already catches a
truncated file (a length running past the end, a short header or trailer). A record whose
bytes were altered in place then fails to parse as the message it should hold, which the
caller reports.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from modelship.errors import BadConfig

__all__ = ["read_records"]

_HEADER = struct.Struct("<QI")  # length, masked CRC32C of the length
_FOOTER_BYTES = 4  # masked CRC32C of the data


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
        length, _ = _HEADER.unpack_from(view, offset)
        start = offset + _HEADER.size
        end = start + length + _FOOTER_BYTES
        if end > len(content):
            raise BadConfig(
                f"{path}: record {index} at byte {offset} is truncated or corrupt "
                f"(it declares {length} bytes, the file has {len(content) - start} left)"
            )
        yield bytes(view[start : start + length])
        offset, index = end, index + 1
