"""The model repository on disk: ``<base_path>/<integer version>/`` directories.

A version directory's name is ASCII digits whose value fits TF Serving's int64 and is positive;
a zero-padded name (``00000123``) is version 123, loaded from that directory, as TF Serving
does. Hidden directories (a version being published) are skipped silently; any other name
(``²``, ``v2``, a number beyond int64) is ignored with one warning.
"""

from __future__ import annotations

import logging
from pathlib import Path

__all__ = ["list_versions", "version_dirs", "version_path"]

logger = logging.getLogger("modelship.repository")

_INT64_MAX = 2**63 - 1
# Names already warned about, so a poll every second does not repeat the warning.
_warned: set[Path] = set()


def _version_of(name: str) -> int | None:
    # str.isdigit alone also takes "²" and other digits int() refuses or reads differently.
    if not (name.isascii() and name.isdigit()):
        return None
    digits = name.lstrip("0")
    if not digits or len(digits) > 19:
        return None
    version = int(digits)
    return version if version <= _INT64_MAX else None


def _warn_once(path: Path, reason: str) -> None:
    if path not in _warned:
        _warned.add(path)
        logger.warning("ignoring %s: %s", path, reason)


def version_dirs(base_path: Path) -> dict[int, Path]:
    """Each version under ``base_path`` and its directory; empty if the path does not exist."""
    if not base_path.is_dir():
        return {}
    found: dict[int, Path] = {}
    for child in sorted(base_path.iterdir()):
        name = child.name
        if name.startswith(".") or not child.is_dir():
            continue
        version = _version_of(name)
        if version is None:
            _warn_once(
                child, "a version directory is named by a positive integer of at most 19 digits"
            )
            continue
        other = found.get(version)
        if other is not None:
            # "123" and "0123" both: the plain name wins, whichever sorts first.
            keep, drop = (child, other) if name == str(version) else (other, child)
            found[version] = keep
            _warn_once(drop, f"version {version} is already served from {keep.name}")
            continue
        found[version] = child
    return found


def list_versions(base_path: Path) -> list[int]:
    """The integer versions under ``base_path``, ascending; none if the path does not exist."""
    return sorted(version_dirs(base_path))


def version_path(base_path: Path, version: int) -> Path:
    """The directory of ``version``: its own (zero-padded) name when it has one on disk, else
    the plain number (where a new version is published)."""
    plain = base_path / str(version)
    if plain.is_dir():
        return plain
    return version_dirs(base_path).get(version, plain)
