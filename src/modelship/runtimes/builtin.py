"""The runtimes modelship ships: ONNX Runtime, TensorFlow, PyTorch.

Each loader imports its runtime module (and so its framework) only when called: reading this
table costs no framework import.
"""

from __future__ import annotations

import logging
from pathlib import Path

from modelship.errors import RuntimeUnavailable
from modelship.manifest import Manifest
from modelship.runtimes.base import Runtime
from modelship.runtimes.spec import RuntimeOptions, RuntimeSpec

__all__ = ["BUILTIN_RUNTIMES", "ONNX", "TENSORFLOW", "TORCH"]


logger = logging.getLogger("modelship.runtimes")


def _detect_onnx(path: Path) -> bool:
    return (path / "model.onnx").is_file()


def _load_onnx(path: Path, manifest: Manifest | None, options: RuntimeOptions) -> Runtime:
    from modelship.runtimes.onnx import OnnxRuntime

    return OnnxRuntime(path / "model.onnx", manifest, threads=options.intra_op_threads)


def _detect_tensorflow(path: Path) -> bool:
    return (path / "saved_model.pb").is_file()


def _load_tensorflow(path: Path, manifest: Manifest | None, options: RuntimeOptions) -> Runtime:
    from modelship.runtimes.tensorflow import load_savedmodel

    try:
        return load_savedmodel(
            path,
            manifest,
            threads=options.intra_op_threads,
            inter_op_threads=options.inter_op_threads,
            tags=options.tags,
        )
    except RuntimeUnavailable as exc:
        if not _detect_onnx(path):
            raise
        # model_platform "tensorflow" is what every TF Serving config says; in an image without
        # TensorFlow (the serving image) the version's own ONNX export serves it instead.
        logger.warning(
            "%s; serving %s with its model.onnx instead (model_platform 'onnx' says so and "
            "silences this warning)",
            exc.message,
            path,
        )
        return _load_onnx(path, manifest, options)


def _detect_torch(path: Path) -> bool:
    return (path / "model.pt2").is_file() or (path / "model.ts").is_file()


def _load_torch(path: Path, manifest: Manifest | None, options: RuntimeOptions) -> Runtime:
    from modelship.runtimes.torch import load_torch

    return load_torch(path, manifest, threads=options.intra_op_threads)


# Detection order: ONNX first because the serving install always has onnxruntime.
ONNX = RuntimeSpec(
    name="onnx",
    detect=_detect_onnx,
    load=_load_onnx,
    platforms=("onnxruntime",),
    order=10,
    artifacts=("model.onnx",),
)
TENSORFLOW = RuntimeSpec(
    name="tensorflow",
    detect=_detect_tensorflow,
    load=_load_tensorflow,
    order=20,
    artifacts=("saved_model.pb",),
)
TORCH = RuntimeSpec(
    name="torch",
    detect=_detect_torch,
    load=_load_torch,
    platforms=("pytorch",),
    order=30,
    artifacts=("model.pt2", "model.ts"),
)

BUILTIN_RUNTIMES = (ONNX, TENSORFLOW, TORCH)
