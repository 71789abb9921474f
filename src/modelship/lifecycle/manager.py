"""The manager: moves versions through their states (TF Serving's ``AspiredVersionsManager``),
one swap-policy action at a time, in its caller's thread, and publishes every state change to
its :class:`StateMonitor` (TF Serving's ``ServableStateMonitor``), knowing nothing of who
listens (the worker group, a test)."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import threading
import time
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass
from typing import Literal

from modelship.errors import ModelNotFound, ModelshipError
from modelship.lifecycle.loader import Loader
from modelship.lifecycle.source import AspiredVersions, FailedVersions
from modelship.registry import (
    AVAILABLE,
    END,
    LOADING,
    UNLOADING,
    ModelEntry,
    Registry,
    ServedVersion,
)
from modelship.repository import version_path

__all__ = [
    "Action",
    "AvailabilityPreservingPolicy",
    "Manager",
    "ReadyGate",
    "ServableState",
    "StateMonitor",
    "States",
    "load_version",
    "registry_states",
    "unload_version",
]

logger = logging.getLogger("modelship.lifecycle")

# Runs after warm-up, before the version serves: (new version, version serving now or None).
# It may block (hold the version back); an exception it raises fails the load.
ReadyGate = Callable[[ServedVersion, ServedVersion | None], None]
_StateHook = Callable[[ServedVersion], None]
# model -> version -> state, as one process's registry has them.
States = dict[str, dict[int, str]]


@dataclass(frozen=True)
class ServableState:
    """One version entered ``state`` (with ``error_message`` when it ended in failure)."""

    model: str
    version: int
    state: str
    error_message: str = ""


class StateMonitor:
    """Delivers every :class:`ServableState` to the subscribers, in the order published."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[ServableState], None]] = []
        self._lock = threading.Lock()  # loads and background unloads both publish

    def subscribe(self, subscriber: Callable[[ServableState], None]) -> None:
        """Call ``subscriber`` with each later event (on the publishing thread)."""
        self._subscribers.append(subscriber)

    def publish(self, served: ServedVersion) -> None:
        """Tell the subscribers the state ``served`` is in now."""
        event = ServableState(served.model, served.version, served.state, served.error_message)
        with self._lock:
            for subscriber in list(self._subscribers):
                try:
                    subscriber(event)
                except Exception:  # a listener's trouble must not stop a load or an unload
                    logger.exception("a version-state subscriber failed on %s", event)


def registry_states(registry: Registry) -> States:
    """Every version's state in ``registry``, as one snapshot."""
    return {
        entry.name: {v: served.state for v, served in list(entry.versions.items())}
        for entry in registry.models()
    }


@dataclass(frozen=True)
class Action:
    """Load or unload one version."""

    kind: Literal["load", "unload"]
    version: int


class AvailabilityPreservingPolicy:
    """The swap policy (TF Serving's): never leaves a model with no version serving while one
    is on its way. New versions load first, newest first; one no longer wanted unloads once a
    wanted one is ``AVAILABLE`` (so memory briefly holds both)."""

    def next_action(self, versions: Mapping[int, ServedVersion], wanted: Set[int]) -> Action | None:
        """The newest wanted version not loaded or loading, else the oldest unwanted one."""
        missing = [
            v for v in wanted if v not in versions or versions[v].state not in (AVAILABLE, LOADING)
        ]
        if missing:
            return Action("load", max(missing))
        if any(versions[v].available for v in wanted):
            retired = [v for v, served in versions.items() if v not in wanted and served.available]
            if retired:
                return Action("unload", min(retired))
        return None


def load_version(
    served: ServedVersion,
    loader: Loader | None = None,
    runtime: str | None = None,
    previous: ServedVersion | None = None,
    *,
    gates: tuple[ReadyGate, ...] = (),
    changed: _StateHook = lambda served: None,
) -> None:
    """Take ``served`` through ``LOADING`` to ``AVAILABLE``, or to ``END`` with its error.

    Never raises: a broken artifact is reported on the version; whatever serves keeps serving.
    ``previous`` serves now (its signature must be kept); ``gates`` run in order once the
    version is warm, ``changed`` after each state change."""
    served.state = LOADING
    served.error_code, served.error_message = "OK", ""
    changed(served)
    try:
        loaded = (loader or Loader()).load(served, runtime, previous)
        served.manifest = loaded.manifest
        for gate in gates:
            gate(served, previous)
    except ModelshipError as exc:
        served.error_code, served.error_message = exc.code, exc.message
        served.state = END
    except Exception as exc:  # a broken artifact can raise anything; report it, keep serving
        served.error_code, served.error_message = "UNKNOWN", f"{type(exc).__name__}: {exc}"
        served.state = END
    else:
        # One assignment each: a request sees either no runtime or a ready one.
        served.runtime = loaded.runtime
        served.state = AVAILABLE
    changed(served)


def unload_version(
    served: ServedVersion, close: bool = True, changed: _StateHook = lambda served: None
) -> None:
    """Detach ``served``'s runtime and end it (``UNLOADING``, then ``END``), calling ``changed``
    after each state change. ``close=False`` leaves the runtime's memory to Python's last
    reference, for when a request may still run on it without holding it."""
    if served.state != UNLOADING:
        served.state = UNLOADING
        changed(served)
    runtime, served.runtime = served.runtime, None
    if runtime is not None and close:
        runtime.close()
    del runtime
    served.state = END
    changed(served)


def _release_memory() -> None:
    """Collect cycles and hand freed heap pages back to the OS (glibc keeps them otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the allocator decides
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class Manager:
    """Keeps the registry's versions at what the source aspires to.

    A load runs the loader (load, signature check, warm-up), then the ready gates, and only
    then makes the version ``AVAILABLE``. A version that fails ends in ``END`` with its error
    and is remembered until its files change. An unload marks the version ``UNLOADING`` at
    once, so no new request resolves it, and frees it in a background thread once the last
    request holding it released it.

    ``allow_unavailable_labels`` (``--allow_version_labels_for_unavailable_models``) moves
    labels to versions that are not ``AVAILABLE``; ``clock`` times loads (injected by tests).
    """

    def __init__(
        self,
        registry: Registry,
        loader: Loader,
        *,
        allow_unavailable_labels: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry
        self.loader = loader
        self.policy = AvailabilityPreservingPolicy()
        self.monitor = StateMonitor()
        self.failed = FailedVersions()
        self._allow_unavailable_labels = allow_unavailable_labels
        self._clock = clock
        self._gates: list[ReadyGate] = []
        self._warned: set[tuple[str, str, int]] = set()
        self._unloads: list[threading.Thread] = []

    def add_gate(self, gate: ReadyGate) -> None:
        """Run ``gate`` on every loaded version before it serves."""
        self._gates.append(gate)

    def reconcile(self, aspired: AspiredVersions) -> None:
        """Load, unload and label one model's versions until they are what ``aspired`` says."""
        config = aspired.config
        entry = self.registry.add_model(config.name, config.base_path)
        # Each action loads a version (which then serves or is remembered as failed) or starts
        # an unload; the bound only guards against files that change under every load.
        for _ in range(2 * (len(aspired.on_disk) + len(entry.versions)) + 1):
            wanted = aspired.wanted(self.failed)
            present = {v: s for v, s in entry.versions.items() if v in aspired.on_disk}
            action = self.policy.next_action(present, wanted)
            if action is None:
                break
            if action.kind == "load":
                self._load(entry, aspired, action.version)
            else:
                logger.info(
                    "%s version %d is no longer wanted; unloading", config.name, action.version
                )
                self._retire(entry.versions[action.version])
        # A deleted version kept answering until the actions above replaced it, if they could.
        for version in [v for v in entry.versions if v not in aspired.on_disk]:
            logger.info("%s version %d was deleted; unloading it", config.name, version)
            self._retire(entry.versions[version], drop=True)
            self.failed.forget(config.name, version)
        self._apply_labels(entry, aspired.labels)

    def remove_model(self, name: str) -> None:
        """Stop serving model ``name``: it leaves the registry, its versions unload."""
        entry = self.registry.remove_model(name)
        if entry is None:
            return
        logger.info("model %s removed from the config; unloading it", name)
        for served in entry.versions.values():
            self._retire(served)
        self.failed.forget(name)

    def wait_unloads(self, timeout: float | None = None) -> bool:
        """Wait for the unloads started so far; False if some still wait for their requests."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._unloads):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._unloads = [t for t in self._unloads if t.is_alive()]
        return not self._unloads

    def unload_all(self) -> None:
        """Unload every version now and close its runtime (no request may be running)."""
        for entry in self.registry.models():
            for served in list(entry.versions.values()):
                unload_version(served, changed=self.monitor.publish)

    def _load(self, entry: ModelEntry, aspired: AspiredVersions, version: int) -> None:
        config = aspired.config
        served = ServedVersion(
            model=config.name, version=version, path=version_path(config.base_path, version)
        )
        self.registry.set_version(served)  # visible as START/LOADING while it loads
        self.monitor.publish(served)
        started = self._clock()
        load_version(
            served,
            self.loader,
            config.runtime,
            entry.latest_available(),
            gates=tuple(self._gates),
            changed=self.monitor.publish,
        )
        if served.available:
            took = self._clock() - started
            device = getattr(served.runtime, "device", "cpu")
            logger.info(
                "loaded %s version %d from %s in %.2fs on %s",
                config.name,
                version,
                served.path,
                took,
                device,
            )
        else:
            self.failed.record(config.name, version, served.path)
            logger.error(
                "cannot serve %s version %d: %s", config.name, version, served.error_message
            )

    def _apply_labels(self, entry: ModelEntry, desired: dict[str, int]) -> None:
        labels: dict[str, int] = {}
        for label, version in desired.items():
            target = entry.versions.get(version)
            if self._allow_unavailable_labels or (target is not None and target.available):
                labels[label] = version
                continue
            if (entry.name, label, version) not in self._warned:
                self._warned.add((entry.name, label, version))
                logger.warning(
                    "label %s of %s not moved to version %d: it is not AVAILABLE (%s)",
                    label,
                    entry.name,
                    version,
                    target.state if target is not None else "not on disk",
                )
            if label in entry.labels:
                labels[label] = entry.labels[label]
        entry.labels = labels  # one assignment: a request sees the old or the new labels

    def _retire(self, served: ServedVersion, drop: bool = False) -> None:
        """Stop routing to ``served`` now; unload it once no request holds it."""
        if served.runtime is None:
            if drop:
                self._drop(served)
            return
        if served.state == UNLOADING:  # already on its way out; a later pass drops it
            return
        served.state = UNLOADING  # not available from here on: no new request resolves it
        self.monitor.publish(served)
        thread = threading.Thread(
            target=self._finish_unload,
            args=(served, drop),
            name=f"unload-{served.model}-{served.version}",
            daemon=True,
        )
        self._unloads = [t for t in self._unloads if t.is_alive()] + [thread]
        thread.start()

    def _finish_unload(self, served: ServedVersion, drop: bool) -> None:
        served.wait_released()
        # Detach without closing: a caller that resolved it without holding it may still run.
        unload_version(served, close=False, changed=self.monitor.publish)
        if drop:
            self._drop(served)
        _release_memory()
        logger.info("unloaded %s version %d", served.model, served.version)

    def _drop(self, served: ServedVersion) -> None:
        try:
            entry = self.registry.model(served.model)
        except ModelNotFound:  # the whole model was removed meanwhile
            return
        if entry.versions.get(served.version) is served:
            self.registry.drop_version(served.model, served.version)
