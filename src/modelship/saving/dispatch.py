"""Which exporter a model takes: :func:`plan_for` looks at what the user handed over (a
PyTorch module or program, a Keras model, an ONNX model, or a path) and returns its export plan.
Frameworks are looked up in ``sys.modules`` so that saving an ONNX file never imports torch."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from modelship.errors import BadConfig
from modelship.saving.plan import ExportPlan
from modelship.signature import DEFAULT_SIGNATURE


def _is_torch_module(model: Any, kind: str) -> bool:
    torch = sys.modules.get("torch")
    if torch is None:
        return False
    if kind == "script":
        return isinstance(model, torch.jit.ScriptModule)
    if kind == "program":
        return isinstance(model, torch.export.ExportedProgram)
    return isinstance(model, torch.nn.Module)


def _is_keras(model: Any) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(model, keras.Model)


def _is_onnx(model: Any) -> bool:
    onnx = sys.modules.get("onnx")
    return onnx is not None and isinstance(model, onnx.ModelProto)


def plan_for(
    model: Any,
    example_inputs: Any = None,
    *,
    signature_name: str | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_batch: bool = True,
    formats: Sequence[str] | None = None,
    onnx: bool = True,
    expected_outputs: Mapping[str, Any] | None = None,
) -> ExportPlan:
    """The export plan for ``model``: a ``torch.nn.Module``, TorchScript module or
    ExportedProgram, a ``keras.Model``, an ``onnx.ModelProto``, or a path to an ONNX file or a
    SavedModel directory (other files: :func:`modelship.saving.files.load_model_file`)."""
    name = signature_name or DEFAULT_SIGNATURE
    if isinstance(model, str | Path):
        path = Path(model)
        from modelship.saving.savedmodel import is_savedmodel, plan_savedmodel

        if is_savedmodel(path):
            return plan_savedmodel(path, example_inputs, signature_name=signature_name, onnx=onnx)
        if path.suffix.lower() == ".onnx":
            from modelship.saving.onnx_model import plan_onnx

            return plan_onnx(
                path, example_inputs, signature_name=name, expected_outputs=expected_outputs
            )
        from modelship.saving.files import load_model_file

        return plan_for(
            load_model_file(path),
            example_inputs,
            signature_name=signature_name,
            input_names=input_names,
            output_names=output_names,
            dynamic_batch=dynamic_batch,
            formats=formats,
            onnx=onnx,
        )
    if _is_torch_module(model, "program"):
        from modelship.saving.torch_model import plan_torch_program

        return plan_torch_program(
            model, signature_name=name, output_names=output_names, example_inputs=example_inputs
        )
    if _is_torch_module(model, "script"):
        from modelship.saving.torch_model import plan_torchscript

        return plan_torchscript(
            model,
            example_inputs,
            signature_name=name,
            input_names=input_names,
            output_names=output_names,
        )
    if _is_torch_module(model, "module"):
        from modelship.saving.torch_model import plan_torch

        chosen = formats or (("pt2", "onnx") if onnx else ("pt2",))
        return plan_torch(
            model,
            example_inputs,
            signature_name=name,
            input_names=input_names,
            output_names=output_names,
            dynamic_batch=dynamic_batch,
            formats=chosen,
        )
    if _is_keras(model):
        from modelship.saving.keras_model import plan_keras

        return plan_keras(model, example_inputs, signature_name=name, onnx=onnx)
    if _is_onnx(model):
        from modelship.saving.onnx_model import plan_onnx

        return plan_onnx(
            model, example_inputs, signature_name=name, expected_outputs=expected_outputs
        )
    raise BadConfig(
        f"cannot save a {type(model).__module__}.{type(model).__qualname__}: give a "
        "torch.nn.Module (with example_inputs), a keras.Model, an onnx.ModelProto, or the path "
        "of an ONNX file or a SavedModel directory"
    )
