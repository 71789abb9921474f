"""One table of runtimes: name -> how to recognise a version it serves, how to load it.

The built-in runtimes (:mod:`modelship.runtimes.builtin`) are registered first; other
packages add theirs through the ``modelship.runtimes`` entry-point group, each entry point
resolving to a :class:`RuntimeSpec`::

    [project.entry-points."modelship.runtimes"]
    openvino = "modelship_openvino:SPEC"

A spec's module is imported when the table is first used; the runtime's framework only when a
version is loaded with it, so the spec module should import it inside ``load``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from modelship.errors import BadConfig
from modelship.manifest import MANIFEST_NAME, Manifest
from modelship.runtimes.base import Runtime
from modelship.runtimes.spec import RuntimeOptions, RuntimeSpec

__all__ = [
    "ENTRY_POINT_GROUP",
    "RuntimeOptions",
    "RuntimeRegistry",
    "RuntimeSpec",
    "default_registry",
    "detect_runtime",
    "get_runtime",
    "load_runtime",
    "runtime_for_platform",
]

ENTRY_POINT_GROUP = "modelship.runtimes"


@dataclass
class RuntimeRegistry:
    """Runtime specs by name, with ``model_platform`` lookups and detection by order.

    Args:
        specs: registered first, in order.
        entry_point_group: entry points to add on first use; ``None`` for none.
    """

    specs: Iterable[RuntimeSpec] = ()
    entry_point_group: str | None = None
    _by_name: dict[str, RuntimeSpec] = field(default_factory=dict, init=False, repr=False)
    _platforms: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    # Entry points that could not be added, by name: said when a lookup finds nothing.
    _broken: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    _discovered: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        for spec in self.specs:
            self.register(spec)

    def register(self, spec: RuntimeSpec) -> None:
        """Add ``spec``.

        Raises:
            BadConfig: its name or one of its platforms is taken already.
        """
        if spec.name in self._by_name:
            raise BadConfig(f"a runtime named {spec.name!r} is registered already")
        platforms = {spec.name, *spec.platforms}
        taken = sorted(p for p in platforms if self._platforms.get(p, spec.name) != spec.name)
        if taken:
            raise BadConfig(
                f"runtime {spec.name!r}: model_platform {', '.join(map(repr, taken))} selects "
                f"{self._platforms[taken[0]]!r} already"
            )
        self._by_name[spec.name] = spec
        for platform in platforms:
            self._platforms[platform] = spec.name

    def names(self) -> list[str]:
        """The registered runtime names, in detection order."""
        return [spec.name for spec in self._ordered()]

    def get(self, name: str) -> RuntimeSpec:
        """The spec called ``name``.

        Raises:
            BadConfig: no runtime has that name; the message lists those that do.
        """
        self._discover()
        spec = self._by_name.get(name)
        if spec is None:
            raise BadConfig(f"unknown runtime {name!r}; choose one of {self._known()}")
        return spec

    def for_platform(self, platform: str) -> str | None:
        """The runtime a config file's ``model_platform`` selects; ``None`` for ``""``.

        An empty platform (the field left out) lets each version's files decide.

        Raises:
            BadConfig: no runtime takes that platform; the message lists the ones known.
        """
        if not platform:
            return None
        self._discover()
        name = self._platforms.get(platform)
        if name is None:
            known = ", ".join(repr(p) for p in sorted(self._platforms))
            raise BadConfig(
                f"unknown model_platform {platform!r}; use one of {known}{self._broken_note()}"
            )
        return name

    def detect(self, path: Path) -> str:
        """The name of the first runtime, by order, that serves the version at ``path``.

        Raises:
            BadConfig: none does; the message names the artifacts looked for.
        """
        specs = self._ordered()
        for spec in specs:
            if spec.detect(path):
                return spec.name
        artifacts = [a for spec in specs for a in spec.artifacts]
        raise BadConfig(
            f"{path} holds no servable artifact: expected {_one_of(artifacts)}{self._broken_note()}"
        )

    def load(
        self, path: Path, name: str | None = None, options: RuntimeOptions | None = None
    ) -> Runtime:
        """Load the version at ``path`` with runtime ``name`` (detected when ``None``)."""
        spec = self.get(name) if name is not None else self.get(self.detect(path))
        manifest = Manifest.read(path) if (path / MANIFEST_NAME).is_file() else None
        return spec.load(path, manifest, options or RuntimeOptions())

    def _ordered(self) -> list[RuntimeSpec]:
        self._discover()
        # Stable: equal orders keep registration order, built-ins before entry points.
        return sorted(self._by_name.values(), key=lambda spec: spec.order)

    def _known(self) -> str:
        return ", ".join(sorted(self._by_name)) + self._broken_note()

    def _broken_note(self) -> str:
        if not self._broken:
            return ""
        return "".join(
            f" (entry point {name!r} of {ENTRY_POINT_GROUP!r} was not added: {why})"
            for name, why in sorted(self._broken.items())
        )

    def _discover(self) -> None:
        if self._discovered or self.entry_point_group is None:
            return
        with self._lock:
            if self._discovered:
                return
            for point in entry_points(group=self.entry_point_group):
                try:
                    spec = point.load()
                    if not isinstance(spec, RuntimeSpec):
                        kind = type(spec).__name__
                        raise TypeError(f"{point.value} is a {kind}, not a RuntimeSpec")
                    if spec.name != point.name:
                        raise ValueError(f"{point.value} is named {spec.name!r}")
                    self.register(spec)
                except Exception as exc:  # a broken plugin must not stop the others serving
                    self._broken[point.name] = f"{type(exc).__name__}: {exc}"
            self._discovered = True


def _one_of(items: list[str]) -> str:
    if len(items) < 2:
        return "".join(items) or "a registered runtime's artifact"
    return ", ".join(items[:-1]) + " or " + items[-1]


_default: RuntimeRegistry | None = None
_default_lock = threading.Lock()


def default_registry() -> RuntimeRegistry:
    """The process-wide table: the built-in runtimes, then the installed entry points."""
    global _default
    with _default_lock:
        if _default is None:
            from modelship.runtimes.builtin import BUILTIN_RUNTIMES

            _default = RuntimeRegistry(BUILTIN_RUNTIMES, entry_point_group=ENTRY_POINT_GROUP)
        return _default


def get_runtime(name: str) -> RuntimeSpec:
    """The spec of runtime ``name`` in the default table (see :meth:`RuntimeRegistry.get`)."""
    return default_registry().get(name)


def runtime_for_platform(platform: str) -> str | None:
    """The runtime ``model_platform`` selects (see :meth:`RuntimeRegistry.for_platform`)."""
    return default_registry().for_platform(platform)


def detect_runtime(path: Path) -> str:
    """The runtime name that can serve the version directory at ``path``.

    ONNX is tried first because the serving install always has it; a SavedModel alone needs
    TensorFlow; a TorchScript/ExportedProgram alone needs torch.
    """
    return default_registry().detect(path)


def load_runtime(
    path: Path,
    name: str | None = None,
    options: RuntimeOptions | None = None,
    *,
    threads: int | None = None,
    inter_op_threads: int | None = None,
    tags: Sequence[str] | None = None,
) -> Runtime:
    """Load the version at ``path`` with runtime ``name`` (detected when ``None``).

    Args:
        path: the version directory.
        name: a registered runtime name; refused, with the known names, if unknown.
        options: threads, SavedModel tags, device; the defaults when ``None``.
        threads: ``options.intra_op_threads``, for callers that predate ``options``.
        inter_op_threads: ``options.inter_op_threads``, likewise.
        tags: ``options.tags``, likewise.

    Raises:
        BadConfig: unknown runtime, no servable artifact, or an artifact that does not load.
        RuntimeUnavailable: the runtime's framework is not installed.
        TypeError: both ``options`` and one of the separate keywords were given.
    """
    if threads is not None or inter_op_threads is not None or tags is not None:
        if options is not None:
            raise TypeError("pass either options or threads/inter_op_threads/tags, not both")
        default = RuntimeOptions()
        options = RuntimeOptions(
            intra_op_threads=threads or 0,
            inter_op_threads=inter_op_threads or 0,
            tags=default.tags if tags is None else tuple(tags),
        )
    return default_registry().load(path, name, options)
