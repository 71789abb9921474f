"""Runtimes, chosen by what a version directory holds; each is imported only when needed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from modelship.errors import BadConfig
from modelship.manifest import MANIFEST_NAME, Manifest
from modelship.runtimes.base import Arrays, Runtime

__all__ = ["Arrays", "Runtime", "detect_runtime", "load_runtime"]

RUNTIMES = ("onnx", "tensorflow", "torch")


def detect_runtime(path: Path) -> str:
    """The runtime name that can serve the version directory at ``path``.

    ONNX is preferred because the serving install always has it; a SavedModel alone needs
    TensorFlow; a TorchScript/ExportedProgram alone needs torch.
    """
    if (path / "model.onnx").is_file():
        return "onnx"
    if (path / "saved_model.pb").is_file():
        return "tensorflow"
    if (path / "model.pt2").is_file() or (path / "model.ts").is_file():
        return "torch"
    raise BadConfig(
        f"{path} holds no servable artifact: expected model.onnx, saved_model.pb or model.pt2"
    )


def load_runtime(
    path: Path,
    runtime: str | None = None,
    threads: int = 0,
    *,
    inter_op_threads: int = 0,
    tags: Sequence[str] = ("serve",),
) -> Runtime:
    """Load the version at ``path`` with ``runtime`` (detected when ``None``).

    Args:
        path: the version directory.
        runtime: one of ``onnx``, ``tensorflow``, ``torch``; refused if unknown.
        threads: intra-op threads of the runtime (each worker's share of the cores); 0 lets
            it decide.
        inter_op_threads: inter-op threads of the TensorFlow runtime (0: its default).
        tags: the SavedModel meta graph tags the TensorFlow runtime loads.
    """
    name = runtime or detect_runtime(path)
    manifest = Manifest.read(path) if (path / MANIFEST_NAME).is_file() else None
    if name == "onnx":
        from modelship.runtimes.onnx import OnnxRuntime

        return OnnxRuntime(path / "model.onnx", manifest, threads=threads)
    if name == "tensorflow":
        from modelship.runtimes.tensorflow import load_savedmodel

        loaded: Runtime = load_savedmodel(
            path, manifest, threads=threads, inter_op_threads=inter_op_threads, tags=tags
        )
        return loaded
    if name == "torch":
        from modelship.runtimes.torch import load_torch

        loaded_torch: Runtime = load_torch(path, manifest, threads=threads)
        return loaded_torch
    raise BadConfig(f"unknown runtime {name!r}; choose one of {', '.join(RUNTIMES)}")
