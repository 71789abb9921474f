"""The model repository on disk: ``<base_path>/<integer version>/`` directories.

Hidden directories (a version being published) and non-integer names are ignored, as TF
Serving ignores them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["list_versions", "version_path"]


def list_versions(base_path: Path) -> list[int]:
    """The integer versions under ``base_path``, ascending; none if the path does not exist."""
    if not base_path.is_dir():
        return []
    versions = []
    for child in base_path.iterdir():
        if child.name.isdigit() and child.is_dir() and int(child.name) > 0:
            versions.append(int(child.name))
    return sorted(versions)


def version_path(base_path: Path, version: int) -> Path:
    return base_path / str(version)
