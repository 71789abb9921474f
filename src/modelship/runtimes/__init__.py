"""Runtimes, chosen by what a version directory holds; each is imported only when needed.

:mod:`modelship.runtimes.registry` holds the table of runtimes (built-in and entry points);
this package re-exports what callers use.
"""

from __future__ import annotations

from modelship.runtimes.base import Arrays, Runtime
from modelship.runtimes.registry import (
    ENTRY_POINT_GROUP,
    RuntimeOptions,
    RuntimeRegistry,
    RuntimeSpec,
    default_registry,
    detect_runtime,
    get_runtime,
    load_runtime,
    runtime_for_platform,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Arrays",
    "Runtime",
    "RuntimeOptions",
    "RuntimeRegistry",
    "RuntimeSpec",
    "default_registry",
    "detect_runtime",
    "get_runtime",
    "load_runtime",
    "runtime_for_platform",
]
