"""Publishing a SavedModel directory (``tf.saved_model.save``, Keras' ``model.export``, or a TF
Serving model) as a version: copied as it is, with ``model.onnx`` beside it when tf2onnx can
convert the served signature, so the serving image (onnxruntime only) can serve it too."""

from __future__ import annotations

import contextlib
import io
import platform
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from modelship.errors import BadConfig
from modelship.saving.keras_model import SAVEDMODEL_PATHS
from modelship.saving.plan import Artifact, ExportPlan
from modelship.saving.synthetic import synthetic_inputs
from modelship.signature import DEFAULT_SIGNATURE, Arrays, Signature

__all__ = ["is_savedmodel", "plan_savedmodel"]

ONNX_OPSET = 17


def is_savedmodel(path: Path) -> bool:
    """Whether ``path`` is a SavedModel directory."""
    return path.is_dir() and (path / "saved_model.pb").is_file()


def _choose(signatures: dict[str, Signature], wanted: str | None, source: Path) -> Signature:
    if wanted is None:
        if DEFAULT_SIGNATURE in signatures:
            return signatures[DEFAULT_SIGNATURE]
        if len(signatures) == 1:
            return next(iter(signatures.values()))
        wanted = DEFAULT_SIGNATURE
    if wanted not in signatures:
        raise BadConfig(
            f"the SavedModel in {source} has no signature {wanted!r} (it has "
            f"{', '.join(signatures) or 'none'}); a SavedModel's signature names are its own: "
            "save it again with signatures={name: function}"
        )
    return signatures[wanted]


def _copy(source: Path, directory: Path) -> None:
    for item in source.iterdir():
        target = directory / item.name
        if item.is_dir():
            shutil.copytree(item, target)
        else:
            shutil.copyfile(item, target)


def _export_onnx(source: Path, signature: Signature, path: Path) -> None:
    import tf2onnx

    graph_def, inputs, outputs, _, renames = tf2onnx.tf_loader.from_saved_model(
        str(source),
        None,
        None,
        signatures=[signature.name],
        return_initialized_tables=True,
        return_tensors_to_rename=True,
    )
    # tf2onnx reports each rewrite on stdout/stderr; keep a notebook's output readable.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        tf2onnx.convert.from_graph_def(
            graph_def,
            input_names=inputs,
            output_names=outputs,
            opset=ONNX_OPSET,
            tensors_to_rename=renames,
            output_path=str(path),
        )


def plan_savedmodel(
    source: Path,
    example_inputs: Any,
    *,
    signature_name: str | None,
    onnx: bool = True,
) -> ExportPlan:
    """The plan for the SavedModel in ``source``: the directory is required, ``model.onnx`` an
    optional conversion of the chosen signature (``serving_default`` by default)."""
    from modelship.runtimes.tensorflow import import_tensorflow, read_signature_defs

    tf = import_tensorflow()
    signatures = read_signature_defs(source)
    signature = _choose(signatures, signature_name, source)
    try:
        loaded = tf.saved_model.load(str(source))
        function = loaded.signatures[signature.name]
    except Exception as exc:  # TF raises many types for a broken directory
        raise BadConfig(f"TensorFlow cannot load the SavedModel in {source}: {exc}") from exc
    if example_inputs is None:
        example: Arrays = synthetic_inputs(signature)
    elif isinstance(example_inputs, Mapping):
        example = {k: np.asarray(v) for k, v in example_inputs.items()}
    else:
        values = example_inputs if isinstance(example_inputs, list | tuple) else [example_inputs]
        example = {n: np.asarray(v) for n, v in zip(signature.inputs, values, strict=False)}
    tensors = {
        n: tf.convert_to_tensor(
            example[n], dtype=tf.string if s.dtype == "object" else tf.as_dtype(s.dtype)
        )
        for n, s in signature.inputs.items()
        if n in example
    }
    try:
        original = {k: np.asarray(v.numpy()) for k, v in function(**tensors).items()}
    except Exception as exc:  # the signature refused the example
        raise BadConfig(f"the SavedModel cannot run on the example inputs: {exc}") from exc

    artifacts = [
        Artifact(
            "savedmodel",
            "saved_model.pb",
            lambda directory: _copy(source, directory),
            "tensorflow",
            True,
            SAVEDMODEL_PATHS,
        )
    ]
    if onnx:

        def write_onnx(directory: Path) -> None:
            _export_onnx(source, signature, directory / "model.onnx")

        artifacts.append(Artifact("onnx", "model.onnx", write_onnx, "onnx", False, ("model.onnx",)))
    import tf2onnx

    return ExportPlan(
        framework="tensorflow",
        signature=signature,
        artifacts=artifacts,
        example_inputs={n: np.asarray(example[n]) for n in tensors},
        original_outputs=original,
        framework_versions={
            "tensorflow": tf.__version__,
            "tf2onnx": tf2onnx.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        parameters={"source": str(source), "signatures": sorted(signatures)},
    )
