"""What is loaded: models, their versions, each version's state, and version labels.

States and their names are TF Serving's (``START``, ``LOADING``, ``AVAILABLE``, ``UNLOADING``,
``END``); a version that failed to load stays listed in ``END`` with its error, never served.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from modelship.errors import (
    FailedPrecondition,
    ModelNotFound,
    ModelshipError,
    VersionNotFound,
)
from modelship.manifest import MANIFEST_NAME, Manifest
from modelship.runtimes import Runtime, load_runtime

__all__ = ["ModelEntry", "Registry", "ServedVersion"]


@dataclass
class ServedVersion:
    """One version of one model and where it is in its life."""

    model: str
    version: int
    path: Path
    state: str = "START"
    error_code: str = "OK"
    error_message: str = ""
    runtime: Runtime | None = None
    manifest: Manifest | None = None

    @property
    def available(self) -> bool:
        return self.state == "AVAILABLE" and self.runtime is not None

    def require_runtime(self) -> Runtime:
        """The loaded runtime; a version unloaded since it was looked up is reported gone."""
        runtime = self.runtime
        if runtime is None:
            raise VersionNotFound(
                f"Servable not found for request: Specific({self.model}, {self.version}); "
                f"the version is {self.state}"
            )
        return runtime

    def load(
        self,
        runtime: str | None = None,
        threads: int = 0,
        prepare: Callable[[ServedVersion, Runtime], None] | None = None,
        *,
        inter_op_threads: int = 0,
        tags: Sequence[str] = ("serve",),
    ) -> None:
        """Load the runtime; on failure record the error and end in ``END``, never raise.

        Args:
            runtime: the runtime name, detected from the directory when ``None``.
            threads: intra-op threads for the runtime.
            inter_op_threads: inter-op threads (TensorFlow).
            tags: the SavedModel meta graph tags to load (TensorFlow).
            prepare: runs on the loaded runtime before the version becomes ``AVAILABLE``
                (compatibility checks, warm-up); an exception it raises fails the load.
        """
        self.state = "LOADING"
        self.error_code, self.error_message = "OK", ""
        loaded: Runtime | None = None
        try:
            if (self.path / MANIFEST_NAME).is_file():
                self.manifest = Manifest.read(self.path)
            loaded = load_runtime(
                self.path, runtime, threads=threads, inter_op_threads=inter_op_threads, tags=tags
            )
            if prepare is not None:
                prepare(self, loaded)
        except ModelshipError as exc:
            self._fail(exc.code, exc.message)
        except Exception as exc:  # a broken artifact can raise anything; report it, keep serving
            self._fail("UNKNOWN", f"{type(exc).__name__}: {exc}")
        else:
            # One assignment each: a request sees either no runtime or a ready one.
            self.runtime = loaded
            self.state = "AVAILABLE"

    def unload(self, close: bool = True) -> None:
        """Stop serving this version and release its runtime.

        Args:
            close: release the runtime's memory now. While requests may still be running on
                it, pass ``False``: the runtime is detached, and freed when the last request
                holding it finishes (Python drops it with its last reference).
        """
        self.state = "UNLOADING"
        runtime, self.runtime = self.runtime, None
        if runtime is not None and close:
            runtime.close()
        del runtime
        self.state = "END"

    def _fail(self, code: str, message: str) -> None:
        self.state = "END"
        self.error_code = code
        self.error_message = message
        self.runtime = None


@dataclass
class ModelEntry:
    """A configured model: where its versions live, which are known, and its labels."""

    name: str
    base_path: Path
    versions: dict[int, ServedVersion] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)

    def latest_available(self) -> ServedVersion | None:
        ready = [v for v in self.versions.values() if v.available]
        return max(ready, key=lambda v: v.version) if ready else None


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
            raise ModelNotFound(f"Servable not found for request: Latest({name})")
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
                raise VersionNotFound(
                    f"Servable not found for request: Latest({name}); no version is AVAILABLE"
                    + _errors_hint(entry)
                )
            return latest
        served = entry.versions.get(version)
        if served is None:
            raise VersionNotFound(f"Servable not found for request: Specific({name}, {version})")
        if not served.available:
            # TF Serving answers NOT_FOUND for a version that is not serving; say why.
            raise VersionNotFound(
                f"Servable not found for request: Specific({name}, {version}); "
                f"the version is {served.state}"
                + (f": {served.error_message}" if served.error_message else "")
            )
        return served

    def resolve_label(self, name: str, label: str) -> int:
        """The version a label points at."""
        entry = self.model(name)
        if label not in entry.labels:
            raise VersionNotFound(f"Unrecognized servable version label: {label}")
        return entry.labels[label]


def _errors_hint(entry: ModelEntry) -> str:
    errors = [f"{v.version}: {v.error_message}" for v in entry.versions.values() if v.error_message]
    return (" (" + "; ".join(errors) + ")") if errors else ""
