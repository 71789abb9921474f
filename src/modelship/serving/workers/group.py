"""The worker group: what the worker processes of one server (``serve --workers N``, each with
its own registry and lifecycle) share through a directory, so that they behave as one server."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from modelship.lifecycle import States

__all__ = ["LOADED", "ReloadRecord", "States", "WorkerGroup", "coming_to", "group_state"]

_MEMBERS = "members.json"
_RELOAD = "reload.json"

# Published (never answered) for a version that is loaded and warm but waits for the other
# workers before it serves; status answers say LOADING.
LOADED = "LOADED"


@dataclass(frozen=True)
class ReloadRecord:
    """One reload request: the model list (``config``, a ``ModelServerConfig`` text proto), the
    stamp of ``--model_config_file``'s list when it came (while the file keeps that list, the
    reload stays in force, as in a single process), and a unique ``id``."""

    config: str
    file_stamp: str | None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


class WorkerGroup:
    """The shared directory of one server's workers, seen from process ``pid``.

    ``members.json`` lists the live workers' pids (the supervisor writes it); ``reload.json``
    holds the last reload request, whichever worker received it (the others apply it, and a
    replacement worker starts from it); ``applied-<pid>`` the id of the last reload a worker
    applied; ``states-<pid>.json`` its version states, for status answers that speak for the
    whole group. Every file is written whole and renamed into place: a reader never sees half.
    """

    def __init__(self, directory: Path, pid: int | None = None) -> None:
        self.directory = directory
        self.pid = os.getpid() if pid is None else pid
        self._reload_seen: tuple[int, int, int] | None = None
        self._states_written: States | None = None

    def set_members(self, pids: list[int]) -> None:
        """Record the live workers; files of workers no longer listed are removed."""
        self._write(_MEMBERS, orjson.dumps(sorted(pids)))
        live = {str(p) for p in pids}
        for path in self.directory.glob("*-*"):
            owner = path.name.split("-", 1)[1].split(".", 1)[0]
            if path.name.startswith(("applied-", "states-")) and owner not in live:
                with contextlib.suppress(OSError):
                    path.unlink()

    def members(self) -> list[int]:
        """The live workers' pids (empty before the supervisor wrote them)."""
        data = self._read(_MEMBERS)
        return [int(p) for p in data] if isinstance(data, list) else []

    def peers(self) -> list[int]:
        """The other live workers."""
        return [p for p in self.members() if p != self.pid]

    def publish_reload(self, record: ReloadRecord) -> None:
        """Make ``record`` the group's model list; the other workers pick it up."""
        self._write(_RELOAD, orjson.dumps(asdict(record)))

    def reload(self) -> ReloadRecord | None:
        """The group's last reload, if any."""
        self._reload_seen = self._stamp(_RELOAD)
        data = self._read(_RELOAD)
        try:
            return ReloadRecord(**data) if isinstance(data, dict) else None
        except TypeError:
            return None

    def reload_changed(self) -> ReloadRecord | None:
        """The last reload if ``reload.json`` changed since last read (one ``stat``: cheap)."""
        if self._stamp(_RELOAD) == self._reload_seen:
            return None
        return self.reload()

    def acknowledge(self, record_id: str) -> None:
        """Say that this worker serves the list of reload ``record_id``."""
        self._write(f"applied-{self.pid}", orjson.dumps(record_id))

    def wait_for_peers(self, record_id: str, timeout: float) -> list[int]:
        """Wait until every other live worker applied reload ``record_id`` (one that dies is
        not waited for: its replacement starts from it) or a later reload replaced it; returns
        those that had not applied it when ``timeout`` seconds passed."""
        deadline = time.monotonic() + timeout
        while True:
            waiting = [p for p in self.peers() if self._read(f"applied-{p}") != record_id]
            current = self._read(_RELOAD)
            superseded = isinstance(current, dict) and current.get("id") != record_id
            if not waiting or superseded or time.monotonic() >= deadline:
                return [] if superseded else waiting
            time.sleep(0.02)

    def publish_states(self, states: States) -> None:
        """Record this worker's version states (only when they changed since the last call)."""
        if states == self._states_written:
            return
        payload = {model: {str(v): s for v, s in vs.items()} for model, vs in states.items()}
        self._write(f"states-{self.pid}.json", orjson.dumps(payload))
        self._states_written = states

    def peer_states(self) -> list[States]:
        """The version states of every other live worker that has published them."""
        found: list[States] = []
        for pid in self.peers():
            data = self._read(f"states-{pid}.json")
            if isinstance(data, dict):
                found.append({m: {int(v): str(s) for v, s in vs.items()} for m, vs in data.items()})
        return found

    def _write(self, name: str, data: bytes) -> None:
        # Unique temporary name: several processes may write the same file at once.
        tmp = self.directory / f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.directory / name)

    def _read(self, name: str) -> Any:
        try:
            return orjson.loads((self.directory / name).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None

    def _stamp(self, name: str) -> tuple[int, int, int] | None:
        try:
            st = (self.directory / name).stat()
        except OSError:
            return None
        # A rename gives a new inode: a replaced file never looks unchanged.
        return (st.st_ino, st.st_mtime_ns, st.st_size)


def group_state(
    version: int, own: Mapping[int, str], peers: Sequence[Mapping[int, str]]
) -> str | None:
    """The state of ``version`` for the whole group (``own``, ``peers``: version -> state in
    each worker): ``AVAILABLE`` once every worker serves it, ``LOADING`` while others are on
    their way to it, ``AVAILABLE`` on its way out while one still serves it (a swap never looks
    unservable), else the first worker's that has it (``None`` if none)."""
    workers = [own, *peers]
    states = [w.get(version) for w in workers]
    if all(s == "AVAILABLE" for s in states):
        return "AVAILABLE"
    if "AVAILABLE" in states:
        coming = any(coming_to(w, version) for w in workers)
        return "LOADING" if coming else "AVAILABLE"
    state = next((s for s in states if s is not None), None)
    return "LOADING" if state == LOADED else state


def coming_to(states: Mapping[int, str], version: int) -> bool:
    """Whether ``version`` is on its way to a worker whose versions are ``states``: loading,
    or newer than every version it has (it has not looked at the repository since)."""
    state = states.get(version)
    return state in ("START", "LOADING") or (state is None and version > max(states, default=0))
