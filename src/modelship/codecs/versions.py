"""Version numbers as they arrive in paths and messages: positive integers, checked once."""

from __future__ import annotations

from modelship.errors import VersionNotFound

__all__ = ["parse_version"]


def parse_version(text: str) -> int:
    """The version ``text`` names: ASCII digits only (``str.isdigit`` also takes "²"), fitting
    in int64 as TF Serving's versions do; anything else is TF Serving's "Malformed version"."""
    if text.isascii() and text.isdigit() and len(text) <= 19:
        version = int(text)
        if 0 < version < 2**63:
            return version
    shown = text if len(text) <= 40 else text[:40] + "..."
    raise VersionNotFound(f"Malformed version {shown!r}: versions are positive integers")
