"""The table of runtimes: the built-in ones (ONNX Runtime, TensorFlow, PyTorch), then those of
the ``modelship.runtimes`` entry-point group, each resolving to a :class:`RuntimeSpec`::

    [project.entry-points."modelship.runtimes"]
    openvino = "modelship_openvino:SPEC"

A runtime's framework is imported only when a version loads with it: in its spec's ``load``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from modelship.errors import BadConfig, RuntimeUnavailable
from modelship.manifest import MANIFEST_NAME, Manifest
from modelship.runtimes.base import Runtime
from modelship.runtimes.spec import Loader, RuntimeOptions, RuntimeSpec

ENTRY_POINT_GROUP = "modelship.runtimes"

logger = logging.getLogger("modelship.runtimes")


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
        """Add ``spec``; BadConfig if its name or one of its platforms is taken already."""
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
        self._platforms.update(dict.fromkeys(platforms, spec.name))

    def names(self) -> list[str]:
        """The registered runtime names, in detection order."""
        return [spec.name for spec in self._ordered()]

    def get(self, name: str) -> RuntimeSpec:
        """The spec called ``name``; BadConfig, listing the known names, if there is none."""
        self._discover()
        if name not in self._by_name:
            known = ", ".join(sorted(self._by_name)) + self._broken_note()
            raise BadConfig(f"unknown runtime {name!r}; choose one of {known}")
        return self._by_name[name]

    def for_platform(self, platform: str) -> str | None:
        """The runtime ``model_platform`` selects; None for ``""`` (the version's files decide).

        Raises:
            BadConfig: no runtime takes ``platform``.
        """
        if not platform:
            return None
        self._discover()
        if platform not in self._platforms:
            known = ", ".join(repr(p) for p in sorted(self._platforms)) + self._broken_note()
            raise BadConfig(f"unknown model_platform {platform!r}; use one of {known}")
        return self._platforms[platform]

    def detect(self, path: Path) -> str:
        """The first runtime, by order, that serves the version at ``path``; BadConfig if none."""
        specs = self._ordered()
        for spec in specs:
            if spec.detect(path):
                return spec.name
        artifacts = [a for spec in specs for a in spec.artifacts]
        *others, last = artifacts or ["a registered runtime's artifact"]
        expected = f"{', '.join(others)} or {last}" if others else last
        raise BadConfig(
            f"{path} holds no servable artifact: expected {expected}{self._broken_note()}"
        )

    def load(
        self, path: Path, name: str | None = None, options: RuntimeOptions | None = None
    ) -> Runtime:
        """Load the version at ``path`` with runtime ``name`` (detected when ``None``).

        Raises:
            BadConfig: unknown runtime, no servable artifact, or an artifact that does not load.
            RuntimeUnavailable: the runtime's framework is not installed.
        """
        spec = self.get(name if name is not None else self.detect(path))
        manifest = Manifest.read(path) if (path / MANIFEST_NAME).is_file() else None
        runtime = spec.load(path, manifest, options or RuntimeOptions())
        if spec.name == PYTHON.name:
            return runtime
        from modelship.runtimes.processing import (
            ProcessedRuntime,
            load_process_module,
            process_file,
        )

        try:
            source = process_file(path, manifest)
            if source is None:
                return runtime
            return ProcessedRuntime(runtime, load_process_module(source), source)
        except BaseException:
            runtime.close()
            raise

    def _ordered(self) -> list[RuntimeSpec]:
        self._discover()
        # Stable: equal orders keep registration order, built-ins before entry points.
        return sorted(self._by_name.values(), key=lambda spec: spec.order)

    def _broken_note(self) -> str:
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


def _load_onnx(path: Path, manifest: Manifest | None, options: RuntimeOptions) -> Runtime:
    from modelship.runtimes.onnx import OnnxRuntime

    return OnnxRuntime(
        path / "model.onnx", manifest, threads=options.intra_op_threads, device=options.device
    )


def _load_tensorflow(path: Path, manifest: Manifest | None, options: RuntimeOptions) -> Runtime:
    from modelship.runtimes.tensorflow import load_savedmodel

    try:
        return load_savedmodel(
            path,
            manifest,
            options.intra_op_threads,
            inter_op_threads=options.inter_op_threads,
            tags=options.tags,
            device=options.device,
        )
    except RuntimeUnavailable as exc:
        if not (path / "model.onnx").is_file():
            raise
        # Every TF Serving config says model_platform "tensorflow"; without TensorFlow (the
        # serving image) the version's own ONNX export serves it.
        logger.warning(
            "%s; serving %s with its model.onnx instead (model_platform 'onnx' says so and "
            "silences this warning)",
            exc.message,
            path,
        )
        return _load_onnx(path, manifest, options)


def _load_torch(path: Path, manifest: Manifest | None, options: RuntimeOptions) -> Runtime:
    from modelship.runtimes.torch import load_torch

    return load_torch(path, manifest, threads=options.intra_op_threads, device=options.device)


def _load_python(path: Path, manifest: Manifest | None, options: RuntimeOptions) -> Runtime:
    from modelship.runtimes.processing import PythonRuntime, load_process_module, process_file

    source = process_file(path, manifest)
    if source is None:
        raise BadConfig(f"{path} has no process.py")
    return PythonRuntime(load_process_module(source), source, manifest)


def _builtin(
    name: str, load: Loader, order: int, *artifacts: str, platforms: tuple[str, ...] = ()
) -> RuntimeSpec:
    def detect(path: Path) -> bool:
        return any((path / artifact).is_file() for artifact in artifacts)

    return RuntimeSpec(name, detect, load, platforms, order, artifacts)


# Detection order: ONNX first, because the serving install always has onnxruntime.
ONNX = _builtin("onnx", _load_onnx, 10, "model.onnx", platforms=("onnxruntime",))
TENSORFLOW = _builtin("tensorflow", _load_tensorflow, 20, "saved_model.pb")
TORCH = _builtin("torch", _load_torch, 30, "model.pt2", "model.ts", platforms=("pytorch",))
# Last: a version's process.py is the model only when no model file is there.
PYTHON = _builtin("python", _load_python, 90, "process.py")
BUILTIN_RUNTIMES = (ONNX, TENSORFLOW, TORCH, PYTHON)

# The process-wide table (entry points are read on its first use) and its methods as functions.
_DEFAULT = RuntimeRegistry(BUILTIN_RUNTIMES, entry_point_group=ENTRY_POINT_GROUP)
get_runtime = _DEFAULT.get
runtime_for_platform = _DEFAULT.for_platform
detect_runtime = _DEFAULT.detect
load_runtime = _DEFAULT.load


def default_registry() -> RuntimeRegistry:
    """The process-wide table: the built-in runtimes, then the installed entry points."""
    return _DEFAULT
