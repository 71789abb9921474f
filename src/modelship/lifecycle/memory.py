"""Giving an unloaded model's memory back to the operating system."""

from __future__ import annotations

import contextlib
import ctypes
import gc

__all__ = ["release_memory"]


def release_memory() -> None:
    """Collect cycles and hand freed heap pages back to the OS (glibc keeps them otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the allocator decides
        ctypes.CDLL("libc.so.6").malloc_trim(0)
