"""Versions that failed to load, remembered until their files change.

A broken version is not retried on every poll (each try would cost a load and a log line);
it is tried again once anything in its directory changes: a re-export, a fixed file.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FailedVersions"]


def _files_stamp(path: Path) -> object:
    """Names, sizes and modification times of a version's files: changes when they change."""
    try:
        return sorted(
            (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in path.rglob("*")
        )
    except OSError:
        return None


class FailedVersions:
    """(model, version) -> the stamp of its files when its load failed."""

    def __init__(self) -> None:
        self._stamps: dict[tuple[str, int], object] = {}

    def record(self, model: str, version: int, path: Path) -> None:
        """Remember that ``version`` of ``model``, in ``path``, failed to load."""
        self._stamps[(model, version)] = _files_stamp(path)

    def still_failed(self, model: str, version: int, path: Path) -> bool:
        """Whether the version failed and its files have not changed since."""
        key = (model, version)
        if key not in self._stamps:
            return False
        if self._stamps[key] == _files_stamp(path):
            return True
        del self._stamps[key]  # its files changed: worth another try
        return False

    def forget(self, model: str, version: int | None = None) -> None:
        """Forget one version of ``model``, or all of them when ``version`` is None."""
        if version is not None:
            self._stamps.pop((model, version), None)
        else:
            self._stamps = {k: v for k, v in self._stamps.items() if k[0] != model}
