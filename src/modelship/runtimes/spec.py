"""What the runtime table holds: a runtime's spec, and the options a runtime loads with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelship.devices import parse_device
from modelship.errors import BadConfig
from modelship.manifest import Manifest
from modelship.runtimes.base import Runtime

__all__ = ["Detector", "Loader", "RuntimeOptions", "RuntimeSpec"]


@dataclass(frozen=True)
class RuntimeOptions:
    """How to load a runtime; each runtime uses the fields that apply to it.

    Attributes:
        intra_op_threads: threads one op may use; 0 lets the runtime decide.
        inter_op_threads: threads running independent ops at once; 0 lets the runtime decide.
        tags: the SavedModel meta graph tags to load (TF Serving's ``--saved_model_tags``).
        device: where to compute: ``auto`` (a GPU when the runtime's framework sees one),
            ``cpu``, ``cuda`` or ``cuda:N``.
    """

    intra_op_threads: int = 0
    inter_op_threads: int = 0
    tags: tuple[str, ...] = ("serve",)
    device: str = "auto"

    def __post_init__(self) -> None:
        parse_device(self.device)  # a misspelt device fails here, not at the first load
        if self.intra_op_threads < 0 or self.inter_op_threads < 0:
            raise BadConfig(
                f"thread counts cannot be negative (intra-op {self.intra_op_threads}, "
                f"inter-op {self.inter_op_threads}); use 0 to let the runtime decide"
            )
        # A list would make the options mutable and unhashable.
        object.__setattr__(self, "tags", tuple(self.tags))


Detector = Callable[[Path], bool]
Loader = Callable[[Path, Manifest | None, RuntimeOptions], Runtime]


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime in the table.

    Attributes:
        name: what ``--runtime`` settings and ``Runtime.name`` call it.
        detect: whether a version directory holds its artifact, by file names only.
        load: loads a version directory with its manifest (``None`` without one) and options.
        platforms: ``model_platform`` values that select it, besides its ``name``.
        order: detection tries the lowest order first; the first runtime that detects wins.
        artifacts: the files it looks for, named when no runtime detects one.
    """

    name: str
    detect: Detector
    load: Loader
    platforms: tuple[str, ...] = ()
    order: int = 100
    artifacts: tuple[str, ...] = ()
