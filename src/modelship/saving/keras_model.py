"""Exporting a user's own Keras model: a SavedModel (served by the TensorFlow runtime, and by
TF Serving itself), ``model.onnx`` when tf2onnx can convert it, and ``model.keras``."""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from modelship.errors import BadConfig
from modelship.saving.plan import Artifact, ExportPlan
from modelship.saving.synthetic import synthetic_inputs
from modelship.signature import Arrays

__all__ = ["SAVEDMODEL_PATHS", "plan_keras"]

# What a SavedModel directory holds; an artifact that fails takes all of them out.
SAVEDMODEL_PATHS = ("saved_model.pb", "variables", "assets", "fingerprint.pb")


def _example(signature_inputs: list[str], example: Any) -> Arrays:
    if isinstance(example, Mapping):
        unknown = sorted(set(example) - set(signature_inputs))
        if unknown:
            raise BadConfig(
                f"example_inputs name {', '.join(unknown)}; the model's inputs are "
                f"{', '.join(signature_inputs)}"
            )
        return {name: np.asarray(example[name]) for name in signature_inputs if name in example}
    values = list(example) if isinstance(example, list | tuple) else [example]
    if len(values) != len(signature_inputs):
        raise BadConfig(
            f"example_inputs hold {len(values)} arrays; the model takes {len(signature_inputs)} "
            f"({', '.join(signature_inputs)})"
        )
    return {name: np.asarray(v) for name, v in zip(signature_inputs, values, strict=True)}


def plan_keras(
    model: Any, example_inputs: Any, *, signature_name: str, onnx: bool = True
) -> ExportPlan:
    """The plan for a ``keras.Model``: the SavedModel is required, ``model.onnx`` an optional
    conversion (left out with a warning when tf2onnx cannot convert a layer, such as
    ``StringLookup``), ``model.keras`` kept for retraining."""
    from modelship.training.keras_export import (
        ONNX_NAME,
        export_onnx,
        export_savedmodel,
        keras_framework_versions,
        keras_outputs,
        keras_signature,
    )

    signature = keras_signature(model, signature_name)
    names = list(signature.inputs)
    example = (
        synthetic_inputs(signature) if example_inputs is None else _example(names, example_inputs)
    )
    missing = [n for n in names if n not in example]
    if missing:
        raise BadConfig(f"example_inputs lack {', '.join(missing)}")
    try:
        original = keras_outputs(model, [example[n] for n in names])
    except Exception as exc:  # Keras and TF raise many types for inputs the model refuses
        raise BadConfig(f"the model cannot run on the example inputs: {exc}") from exc

    def write_savedmodel(directory: Path) -> None:
        export_savedmodel(model, directory, signature_name)

    def write_onnx(directory: Path) -> None:
        export_onnx(model, directory / ONNX_NAME)

    def write_keras(directory: Path) -> None:
        model.save(str(directory / "model.keras"))

    artifacts = [
        Artifact(
            "savedmodel", "saved_model.pb", write_savedmodel, "tensorflow", True, SAVEDMODEL_PATHS
        )
    ]
    if onnx:
        artifacts.append(Artifact("onnx", ONNX_NAME, write_onnx, "onnx", False, (ONNX_NAME,)))
    artifacts.append(Artifact("keras", "model.keras", write_keras, "", False, ("model.keras",)))
    return ExportPlan(
        framework="tensorflow",
        signature=signature,
        artifacts=artifacts,
        example_inputs=example,
        original_outputs=original,
        framework_versions={
            **keras_framework_versions(),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        parameters={"keras_model_name": str(getattr(model, "name", ""))},
    )
