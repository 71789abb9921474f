"""What is loaded: models, their versions, each version's state, and version labels.

States and their names are TF Serving's (``START``, ``LOADING``, ``AVAILABLE``, ``UNLOADING``,
``END``); a version that failed to load stays listed in ``END`` with its error, never served.
The records here hold no load logic: :mod:`modelship.lifecycle.manager` moves them from state
to state.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelship.errors import FailedPrecondition, ModelNotFound, VersionNotFound
from modelship.manifest import Manifest
from modelship.runtimes import Runtime

__all__ = [
    "AVAILABLE",
    "END",
    "LOADING",
    "START",
    "UNLOADING",
    "ModelEntry",
    "Registry",
    "ServedVersion",
]

_RELEASE_POLL_SECONDS = 0.005

# TF Serving's version states (ModelVersionStatus.State), in the order a version goes through.
START, LOADING, AVAILABLE, UNLOADING, END = "START", "LOADING", "AVAILABLE", "UNLOADING", "END"


@dataclass
class ServedVersion:
    """One version of one model and where it is in its life: a record, changed by the manager."""

    model: str
    version: int
    path: Path
    state: str = START
    error_code: str = "OK"
    error_message: str = ""
    runtime: Runtime | None = None
    manifest: Manifest | None = None
    # One entry per request running on this version now; it unloads only when none is left.
    # list.append and list.pop are atomic: holding costs no lock on the request path.
    _holds: list[None] = field(default_factory=list, init=False, repr=False, compare=False)
    # What serving each signature of the loaded runtime needs, bound on first use by the
    # dataplane (modelship.serving.plan); each entry names the runtime it was bound to.
    plans: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def hold(self) -> None:
        """One more request uses this version (see :meth:`Registry.acquire`)."""
        self._holds.append(None)

    def release(self) -> None:
        """A request that held this version is done with it."""
        self._holds.pop()

    @property
    def holders(self) -> int:
        """How many requests hold this version now."""
        return len(self._holds)

    def wait_released(self, timeout: float | None = None) -> bool:
        """Block until no request holds this version; False if ``timeout`` passed first.

        Polls: it runs on the manager's thread, where a few milliseconds do not matter, so
        that holding and releasing stay free of locks.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._holds:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(_RELEASE_POLL_SECONDS)
        return True

    @property
    def available(self) -> bool:
        return self.state == AVAILABLE and self.runtime is not None

    def require_runtime(self) -> Runtime:
        """The loaded runtime; a version unloaded since it was looked up is reported gone."""
        runtime = self.runtime
        if runtime is None:
            raise VersionNotFound(
                f"Servable not found for request: Specific({self.model}, {self.version}); "
                f"the version is {self.state}",
                _v2_unknown(self.model, f"version {self.version} is not at ready state"),
            )
        return runtime


@dataclass
class ModelEntry:
    """A configured model: where its versions live, which are known, and its labels."""

    name: str
    base_path: Path
    versions: dict[int, ServedVersion] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)

    def latest_available(self) -> ServedVersion | None:
        # A plain loop: every request without a version in its path comes here.
        latest = None
        for served in list(self.versions.values()):
            if (
                served.state == AVAILABLE
                and served.runtime is not None
                and (latest is None or served.version > latest.version)
            ):
                latest = served
        return latest


class Registry:
    """Thread-safe map of model name -> :class:`ModelEntry`.

    Lookups never block on loading: a version is published into the map only in a state that
    tells the truth, and the swap to a new ``AVAILABLE`` version is a single assignment.
    """

    def __init__(self) -> None:
        self._models: dict[str, ModelEntry] = {}
        self._lock = threading.RLock()

    def add_model(self, name: str, base_path: Path) -> ModelEntry:
        with self._lock:
            entry = self._models.get(name)
            if entry is None:
                entry = ModelEntry(name=name, base_path=base_path)
                self._models[name] = entry
            entry.base_path = base_path
            return entry

    def remove_model(self, name: str) -> ModelEntry | None:
        with self._lock:
            return self._models.pop(name, None)

    def models(self) -> list[ModelEntry]:
        with self._lock:
            return list(self._models.values())

    def model(self, name: str) -> ModelEntry:
        entry = self._models.get(name)
        if entry is None:
            raise ModelNotFound(
                f"Servable not found for request: Latest({name})", _v2_unknown(name, "is not found")
            )
        return entry

    def set_version(self, served: ServedVersion) -> None:
        with self._lock:
            self.model(served.model).versions[served.version] = served

    def drop_version(self, model: str, version: int) -> None:
        with self._lock:
            self.model(model).versions.pop(version, None)

    def resolve(
        self, name: str, version: int | None = None, label: str | None = None
    ) -> ServedVersion:
        """The version a request addresses: explicit version, label, or the latest available.

        Raises:
            ModelNotFound: unknown model, version or label.
            (The version may exist but not be AVAILABLE: the message then says its state.)
        """
        entry = self.model(name)
        if version is not None and label is not None:
            raise FailedPrecondition("give either a version or a version label, not both")
        if label is not None:
            version = self.resolve_label(name, label)
        if version is None:
            latest = entry.latest_available()
            if latest is None:
                hint = _errors_hint(entry)
                raise VersionNotFound(
                    f"Servable not found for request: Latest({name}); no version is AVAILABLE"
                    + hint,
                    _v2_unknown(name, "has no available versions") + hint,
                )
            return latest
        served = entry.versions.get(version)
        if served is None:
            raise VersionNotFound(
                f"Servable not found for request: Specific({name}, {version})",
                _v2_unknown(name, f"version {version} is not found"),
            )
        if not served.available:
            # TF Serving answers NOT_FOUND for a version that is not serving; say why.
            why = f": {served.error_message}" if served.error_message else ""
            raise VersionNotFound(
                f"Servable not found for request: Specific({name}, {version}); "
                f"the version is {served.state}" + why,
                _v2_unknown(name, f"version {version} is not at ready state") + why,
            )
        return served

    def acquire(
        self, name: str, version: int | None = None, label: str | None = None
    ) -> ServedVersion:
        """Like :meth:`resolve`, and hold the version until :meth:`ServedVersion.release`.

        A version being retired is first marked not available, then waits for its holders: a
        request that holds it before that keeps it to the end; one that comes later resolves
        again and finds the version that replaces it.
        """
        while True:
            served = self.resolve(name, version, label)
            served.hold()
            if served.available:
                return served
            served.release()

    def resolve_label(self, name: str, label: str) -> int:
        """The version a label points at."""
        entry = self.model(name)
        if label not in entry.labels:
            raise VersionNotFound(f"Unrecognized servable version label: {label}")
        return entry.labels[label]


def _v2_unknown(name: str, what: str) -> str:
    # Triton's wording, which its clients and tests match on.
    return f"Request for unknown model: '{name}' {what}"


def _errors_hint(entry: ModelEntry) -> str:
    errors = [f"{v.version}: {v.error_message}" for v in entry.versions.values() if v.error_message]
    return (" (" + "; ".join(errors) + ")") if errors else ""
