"""A content fingerprint of evaluation arrays, recorded in the validation report."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

__all__ = ["array_fingerprint"]


def array_fingerprint(*arrays: np.ndarray[Any, Any]) -> str:
    """``sha256:<hex>`` over each array's dtype, shape and bytes, in order."""
    digest = hashlib.sha256()
    for array in arrays:
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype.str}{contiguous.shape}".encode())
        digest.update(contiguous.tobytes())
    return f"sha256:{digest.hexdigest()}"
