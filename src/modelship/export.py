"""Publishing a model version directory atomically: ``models/<name>/<version>/``.

Everything is written under a hidden temporary directory beside the final one
(``.tmp-<version>-<random>``, which servers ignore because it is not an integer) and then
renamed into place with one ``os.rename``, so a server polling the repository sees either no
version or a complete one. A published version is never overwritten.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelship import __version__
from modelship.errors import AlreadyExists, BadConfig
from modelship.manifest import Manifest
from modelship.repository import list_versions, version_path

__all__ = ["code_version", "created_at", "next_version", "publish_version", "write_version"]


def next_version(base_path: Path) -> int:
    """The default version number: the current unix time, or one past the latest if that is later.

    Unix time makes versions sortable by age, as in the seeds; bumping past the latest keeps two
    exports within one second (or after a clock step back) distinct and the newest one newest.
    """
    existing = list_versions(base_path)
    return max(int(time.time()), existing[-1] + 1 if existing else 1)


def created_at() -> str:
    """Now, as an ISO 8601 UTC timestamp with a ``Z`` suffix."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def code_version() -> dict[str, Any]:
    """The modelship version and, when running from a git checkout, its commit."""
    commit: str | None = None
    dirty: bool | None = None
    source = Path(__file__).resolve().parent
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=source, capture_output=True, text=True, timeout=10
        )
        if head.returncode == 0:
            commit = head.stdout.strip()
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=source,
                capture_output=True,
                text=True,
                timeout=10,
            )
            dirty = bool(status.stdout.strip()) if status.returncode == 0 else None
    return {
        "modelship": __version__,
        "git": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
    }


def _fsync_tree(directory: Path) -> None:
    """Flush every file under ``directory``, then the directories themselves, to disk.

    Without it, a crash just after the rename could leave a published version whose files
    are still empty on disk.
    """
    for path in sorted(directory.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        _fsync(path)
    _fsync(directory)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_version(
    base_path: Path, write: Callable[[Path, int], None], version: int | None = None
) -> Path:
    """Create version ``version`` under ``base_path`` by calling ``write(tmp_dir, version)``.

    Args:
        base_path: the model's directory (``models/<name>``), created if missing.
        write: fills the temporary directory it is given; it is told the version number.
        version: a positive integer; ``None`` picks :func:`next_version`.

    Returns:
        The published version directory.

    Raises:
        AlreadyExists: the version directory exists (nothing is written or removed).
        BadConfig: the version is not a positive integer.
    """
    base_path.mkdir(parents=True, exist_ok=True)
    number = next_version(base_path) if version is None else version
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise BadConfig(f"a version must be a positive integer, got {number!r}")
    final = version_path(base_path, number)
    if final.exists():
        raise AlreadyExists(
            f"{final} already exists and is never overwritten; pick another --version "
            f"or leave it out to use the next one"
        )
    tmp = base_path / f".tmp-{number}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        write(tmp, number)
        _fsync_tree(tmp)
        try:
            # rename() is atomic within one filesystem; the check above can race with another
            # publisher, in which case rename fails on the non-empty target.
            os.rename(tmp, final)
        except OSError as exc:
            if final.exists():
                raise AlreadyExists(f"{final} was published by someone else meanwhile") from exc
            raise
        _fsync(base_path)  # makes the rename itself durable
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def write_version(
    base_path: Path,
    manifest: Manifest,
    write_artifacts: Callable[[Path], dict[str, str]],
    *,
    version: int | None = None,
    extra_files: dict[str, Path] | None = None,
) -> tuple[Path, Manifest]:
    """Publish a version holding the artifacts, extra files and ``modelship.json``.

    Args:
        base_path: the model's directory (``models/<name>``).
        manifest: the manifest to write; ``version``, ``artifacts`` and ``created_at`` are
            filled in here.
        write_artifacts: writes the model files into the directory it gets; role -> file name.
        version: explicit version, or ``None`` for :func:`next_version`.
        extra_files: name in the version -> file to copy there (e.g. the training curve).

    Returns:
        The version directory and the manifest as written.
    """

    def write(directory: Path, number: int) -> None:
        manifest.artifacts = dict(write_artifacts(directory))
        for name, source in (extra_files or {}).items():
            shutil.copyfile(source, directory / name)
        manifest.version = number
        manifest.created_at = created_at()
        manifest.write(directory)

    path = publish_version(base_path, write, version)
    return path, manifest
