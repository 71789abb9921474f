"""Fetching files from a list of mirrors, verified by sha256, with a progress bar.

A mirror that fails (HTTP error, network error, wrong checksum) is skipped and the next one is
tried; only a verified file is ever moved into place, so an interrupted or poisoned download
never leaves a file that later looks valid.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import httpx
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)

from modelship.errors import DataUnavailable

__all__ = ["fetch_verified"]

_CHUNK = 1 << 16


def _download(
    client: httpx.Client, url: str, target: Path, sha256: str, progress: Progress | None
) -> str | None:
    """Download ``url`` to ``target``; the reason it failed, or ``None`` on success."""
    part = target.with_name(f".{target.name}.part-{secrets.token_hex(4)}")
    digest = hashlib.sha256()
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                return f"{url}: HTTP {response.status_code}"
            total = int(response.headers.get("content-length", 0)) or None
            task = progress.add_task(target.name, total=total) if progress else None
            with part.open("wb") as out:
                for chunk in response.iter_bytes(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    if progress is not None and task is not None:
                        progress.advance(task, len(chunk))
        got = digest.hexdigest()
        if got != sha256:
            return f"{url}: sha256 {got} does not match the expected {sha256}"
        os.replace(part, target)
        return None
    except httpx.HTTPError as exc:
        return f"{url}: {type(exc).__name__}: {exc}"
    finally:
        part.unlink(missing_ok=True)


def fetch_verified(
    name: str,
    directory: Path,
    mirrors: Sequence[str],
    sha256: str,
    *,
    timeout: float = 60.0,
    show_progress: bool = True,
) -> Path:
    """Download ``name`` into ``directory`` from the first mirror that serves the right bytes.

    Args:
        name: the file name, appended to each mirror's base URL.
        directory: where the file lands (created if needed).
        mirrors: base URLs tried in order, e.g. ``https://example.org/mnist/``.
        sha256: the expected hex digest of the file.
        timeout: seconds allowed for each network operation.
        show_progress: draw a rich progress bar on the terminal.

    Raises:
        DataUnavailable: no mirror served the file with the expected checksum; the message
            lists every attempt and why it failed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    failures: list[str] = []
    progress = (
        Progress(
            TextColumn("downloading {task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        )
        if show_progress
        else None
    )
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for mirror in mirrors:
            url = f"{mirror.rstrip('/')}/{name}"
            if progress is not None:
                with progress:
                    failure = _download(client, url, target, sha256, progress)
            else:
                failure = _download(client, url, target, sha256, None)
            if failure is None:
                return target
            failures.append(failure)
    tried = "\n  ".join(failures) or "(no mirrors configured)"
    raise DataUnavailable(
        f"could not fetch {name} into {directory}; tried:\n  {tried}\n"
        f"Copy the file there by hand or pass another mirror."
    )
