"""Runtimes, chosen by what a version directory holds; each is imported only when needed."""

from __future__ import annotations

from modelship.runtimes.base import Arrays, Runtime
from modelship.runtimes.registry import (
    ENTRY_POINT_GROUP,
    RuntimeRegistry,
    default_registry,
    detect_runtime,
    get_runtime,
    load_runtime,
    runtime_for_platform,
)
from modelship.runtimes.spec import RuntimeOptions, RuntimeSpec

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
