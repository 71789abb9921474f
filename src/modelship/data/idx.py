"""Reading and writing the IDX format that MNIST is distributed in.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values, big-endian, row-major. Files may be
gzip-compressed; the gzip magic tells us which.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any

import numpy as np

from modelship.errors import InvalidInput

__all__ = ["read_idx", "write_idx"]

# IDX type code -> big-endian numpy dtype
_TYPES: dict[int, str] = {
    0x08: ">u1",
    0x09: ">i1",
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}
_GZIP_MAGIC = b"\x1f\x8b"


def _parse(blob: bytes, origin: str) -> np.ndarray[Any, Any]:
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in _TYPES:
        raise InvalidInput(f"{origin} is not an IDX file (bad magic number {blob[:4].hex()})")
    dtype = np.dtype(_TYPES[blob[2]])
    ndim = blob[3]
    header = 4 + 4 * ndim
    if len(blob) < header:
        raise InvalidInput(f"{origin} is truncated inside its IDX header")
    shape = struct.unpack(f">{ndim}I", blob[4:header])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(blob) - header != expected:
        raise InvalidInput(
            f"{origin}: header says shape {shape} ({expected} bytes of data), "
            f"file holds {len(blob) - header}; the file is truncated or corrupt"
        )
    values = np.frombuffer(blob, dtype=dtype, offset=header).reshape(shape)
    # Native byte order so later arithmetic and hashing do not depend on the file's encoding.
    return values.astype(dtype.newbyteorder("="))


def read_idx(path: Path) -> np.ndarray[Any, Any]:
    """The array stored in an IDX file, plain or gzip-compressed."""
    blob = path.read_bytes()
    if blob[:2] == _GZIP_MAGIC:
        try:
            blob = gzip.decompress(blob)
        except (OSError, EOFError) as exc:
            raise InvalidInput(f"{path} is a damaged gzip file: {exc}") from exc
    return _parse(blob, str(path))


def write_idx(path: Path, array: np.ndarray[Any, Any], compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress`` or the name ends in .gz).

    Used to build test fixtures and to store datasets in MNIST's own format.
    """
    codes = {np.dtype(v).newbyteorder("="): k for k, v in _TYPES.items()}
    native = np.dtype(array.dtype).newbyteorder("=")
    if native not in codes:
        raise InvalidInput(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, codes[native], array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    blob = header + np.ascontiguousarray(array, dtype=native.newbyteorder(">")).tobytes()
    if compress or (compress is None and path.suffix == ".gz"):
        blob = gzip.compress(blob, mtime=0)
    path.write_bytes(blob)
    return path
