"""Exporting a user's own ``torch.nn.Module``: ``model.pt2`` (``torch.export``, served by the
PyTorch runtime) and ``model.onnx`` (served by onnxruntime, the serving image's runtime).

The batch dimension is dynamic by default: ``torch.export`` is told so with ``dynamic_shapes``,
and the ONNX exporter with ``dynamic_axes``. ``torch.export`` specialises a dimension of size 1,
so an example batch of one row is repeated to two for the trace.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelship.errors import BadConfig
from modelship.saving.plan import Artifact, ExportPlan
from modelship.signature import PREDICT_METHOD, Arrays, Signature, TensorSpec

__all__ = ["ONNX_OPSET", "plan_torch", "plan_torch_program", "plan_torchscript"]

ONNX_OPSET = 17
PROGRAM_NAME = "model.pt2"
SCRIPT_NAME = "model.ts"
ONNX_NAME = "model.onnx"
# What the runtime reports for an output whose trace recorded no tensor.
_UNTRACED = TensorSpec("float32", (-1,))


def _torch() -> Any:
    import torch

    return torch


def _as_tensors(
    torch: Any, example: Any, names: Sequence[str] | None
) -> tuple[list[str], list[Any]]:
    """Example inputs as (names, tensors): a tensor or array, a sequence, or a name -> value map."""
    if isinstance(example, Mapping):
        pairs = list(example.items())
    else:
        values = list(example) if isinstance(example, list | tuple) else [example]
        pairs = [(names[i] if names and i < len(names) else "", v) for i, v in enumerate(values)]
    tensors = [
        v if isinstance(v, torch.Tensor) else torch.from_numpy(np.asarray(v)) for _, v in pairs
    ]
    return [name for name, _ in pairs], tensors


def _input_names(model: Any, given: list[str], explicit: Sequence[str] | None, n: int) -> list[str]:
    if explicit:
        if len(explicit) != n:
            raise BadConfig(f"input_names names {len(explicit)} inputs; the example has {n}")
        return list(explicit)
    if all(given):
        return given
    try:
        parameters = [
            p.name
            for p in inspect.signature(model.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        parameters = []
    if len(parameters) >= n:
        return parameters[:n]
    return [f"input_{i}" for i in range(n)]


def _outputs(result: Any, explicit: Sequence[str] | None) -> Arrays:
    """The model's answer as named numpy arrays (a tensor, a sequence, or a dict of tensors)."""
    if isinstance(result, Mapping):
        names, values = [str(k) for k in result], list(result.values())
    else:
        values = list(result) if isinstance(result, list | tuple) else [result]
        names = [f"output_{i}" for i in range(len(values))]
    if explicit:
        if len(explicit) != len(values):
            raise BadConfig(
                f"output_names names {len(explicit)} outputs; the model returns {len(values)}"
            )
        names = list(explicit)
    return {name: value.detach().cpu().numpy() for name, value in zip(names, values, strict=True)}


def _on_cpu(torch: Any, model: Any) -> Any:
    """``model`` itself if it lives on the CPU, else a CPU copy: the export, the reference
    answers and the check all run there, and the served device is the server's choice."""
    tensors = [*model.parameters(), *model.buffers()]
    if all(t.device.type == "cpu" for t in tensors):
        return model
    import copy

    return copy.deepcopy(model).cpu()


def _run(torch: Any, model: Any, tensors: list[Any]) -> Any:
    try:
        with torch.no_grad():
            return model(*tensors)
    except Exception as exc:  # whatever the user's forward raises for these inputs
        raise BadConfig(f"the model cannot run on the example inputs: {_first_line(exc)}") from exc


def _batch_of_two(torch: Any, tensors: list[Any]) -> list[Any]:
    return [t if t.ndim == 0 or t.shape[0] != 1 else torch.cat([t, t]) for t in tensors]


def _versions(torch: Any) -> dict[str, str]:
    versions = {"torch": str(torch.__version__), "numpy": np.__version__}
    with contextlib.suppress(ImportError):
        import onnx

        versions["onnx"] = onnx.__version__
    versions["python"] = platform.python_version()
    return versions


def _signature(program: Any, input_names: list[str], outputs: Arrays, name: str) -> Signature:
    """Inputs and outputs as the program traced them (a symbolic batch is -1), under the
    user's names."""
    from modelship.runtimes.torch import program_signatures

    declared = next(iter(program_signatures(program).values()))
    inputs = dict(zip(input_names, declared.inputs.values(), strict=True))
    specs = {}
    for (out, value), traced in zip(outputs.items(), declared.outputs.values(), strict=True):
        if traced == _UNTRACED and (value.dtype != np.float32 or value.ndim != 1):
            traced = TensorSpec(str(value.dtype), (-1, *value.shape[1:]) if value.ndim else ())
        specs[out] = traced
    return Signature(inputs, specs, method_name=PREDICT_METHOD, name=name)


def plan_torch(
    model: Any,
    example_inputs: Any,
    *,
    signature_name: str,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    dynamic_batch: bool = True,
    formats: Sequence[str] = ("pt2", "onnx"),
) -> ExportPlan:
    """The plan for an eager ``nn.Module``: trace it with ``torch.export``, then write what
    ``formats`` asks for (``pt2``, ``onnx``; ONNX is an optional extra when ``pt2`` is there)."""
    torch = _torch()
    if example_inputs is None:
        raise BadConfig(
            "a PyTorch model needs example_inputs (a tensor, a tuple of tensors, or a dict "
            "input name -> tensor): they fix each input's dtype and shape and check the export"
        )
    unknown = sorted(set(formats) - {"pt2", "onnx"})
    if unknown or not formats:
        raise BadConfig(f"formats for a PyTorch model are pt2 and onnx, got {list(formats)}")
    model = _on_cpu(torch, model).eval()
    given, tensors = _as_tensors(torch, example_inputs, input_names)
    tensors = [t.cpu() for t in tensors]
    names = _input_names(model, given, input_names, len(tensors))
    outputs = _outputs(_run(torch, model, tensors), output_names)
    trace = _batch_of_two(torch, tensors) if dynamic_batch else tensors
    batch = torch.export.Dim("batch", min=1)
    dynamic = tuple({0: batch} if t.ndim else None for t in trace) if dynamic_batch else None
    try:
        program = torch.export.export(model, tuple(trace), dynamic_shapes=dynamic)
    except Exception as exc:  # dynamo raises many types; the first line says what it met
        hint = (
            " (the model may not work for any batch size: pass dynamic_batch=False to export "
            "it for the example's batch only)"
            if dynamic_batch
            else ""
        )
        raise BadConfig(f"torch.export cannot export the model: {_first_line(exc)}{hint}") from exc
    signature = _signature(program, names, outputs, signature_name)
    artifacts: list[Artifact] = []
    if "pt2" in formats:

        def write_program(directory: Path) -> None:
            torch.export.save(program, str(directory / PROGRAM_NAME))

        artifacts.append(
            Artifact("torch", PROGRAM_NAME, write_program, "torch", True, (PROGRAM_NAME,))
        )
    if "onnx" in formats:

        def write_onnx(directory: Path) -> None:
            export_onnx(
                torch, model, trace, names, list(outputs), directory / ONNX_NAME, dynamic_batch
            )

        required = "pt2" not in formats
        artifacts.append(Artifact("onnx", ONNX_NAME, write_onnx, "onnx", required, (ONNX_NAME,)))
    return ExportPlan(
        framework="torch",
        signature=signature,
        artifacts=artifacts,
        example_inputs={n: t.detach().cpu().numpy() for n, t in zip(names, tensors, strict=True)},
        original_outputs=outputs,
        framework_versions=_versions(torch),
        parameters={"model_class": type(model).__qualname__, "dynamic_batch": dynamic_batch},
    )


def export_onnx(
    torch: Any,
    model: Any,
    tensors: list[Any],
    input_names: list[str],
    output_names: list[str],
    path: Path,
    dynamic_batch: bool,
) -> None:
    """``torch.onnx.export`` with the TorchScript-based exporter and named, dynamic-batch axes."""
    axes = {n: {0: "batch"} for n in [*input_names, *output_names]} if dynamic_batch else None
    # The exporter prints diagnostics to stdout; keep a notebook's output readable.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        torch.onnx.export(
            model,
            tuple(tensors),
            str(path),
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=axes,
            opset_version=ONNX_OPSET,
            dynamo=False,
        )


def plan_torch_program(
    program: Any,
    *,
    signature_name: str,
    output_names: Sequence[str] | None,
    example_inputs: Any = None,
) -> ExportPlan:
    """The plan for a ``torch.export`` ExportedProgram (e.g. a ``.pt2`` file): published as it
    is, checked against the program itself on example inputs (zeros of its traced shapes when
    none are given)."""
    from modelship.runtimes.torch import program_signatures

    torch = _torch()
    declared = next(iter(program_signatures(program).values()))
    names = list(declared.inputs)
    if example_inputs is None:
        example = {n: _zeros(spec) for n, spec in declared.inputs.items()}
    else:
        _, tensors = _as_tensors(torch, example_inputs, names)
        example = {n: t.numpy() for n, t in zip(names, tensors, strict=True)}
    module = program.module()
    outputs = _outputs(
        _run(torch, module, [torch.from_numpy(example[n]) for n in names]), output_names
    )
    specs = dict(zip(outputs, declared.outputs.values(), strict=True))
    signature = Signature(declared.inputs, specs, method_name=PREDICT_METHOD, name=signature_name)

    def write_program(directory: Path) -> None:
        torch.export.save(program, str(directory / PROGRAM_NAME))

    return ExportPlan(
        framework="torch",
        signature=signature,
        artifacts=[Artifact("torch", PROGRAM_NAME, write_program, "torch", True, (PROGRAM_NAME,))],
        example_inputs=example,
        original_outputs=outputs,
        framework_versions=_versions(torch),
    )


def plan_torchscript(
    module: Any,
    example_inputs: Any,
    *,
    signature_name: str,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> ExportPlan:
    """The plan for a TorchScript module: ``model.ts`` as it is; its shapes come from the
    example inputs (TorchScript records none), with the batch dimension variable."""
    torch = _torch()
    if example_inputs is None:
        raise BadConfig("a TorchScript model records no input shapes: give example inputs")
    given, tensors = _as_tensors(torch, example_inputs, input_names)
    names = _input_names(module, given, input_names, len(tensors))
    outputs = _outputs(_run(torch, module, tensors), output_names)

    def spec(value: np.ndarray[Any, Any]) -> TensorSpec:
        return TensorSpec(str(value.dtype), (-1, *value.shape[1:]) if value.ndim else ())

    example = {n: t.detach().cpu().numpy() for n, t in zip(names, tensors, strict=True)}
    signature = Signature(
        {n: spec(v) for n, v in example.items()},
        {n: spec(v) for n, v in outputs.items()},
        method_name=PREDICT_METHOD,
        name=signature_name,
    )

    def write_script(directory: Path) -> None:
        torch.jit.save(module, str(directory / SCRIPT_NAME))

    return ExportPlan(
        framework="torch",
        signature=signature,
        artifacts=[
            Artifact("torchscript", SCRIPT_NAME, write_script, "torch", True, (SCRIPT_NAME,))
        ],
        example_inputs=example,
        original_outputs=outputs,
        framework_versions=_versions(torch),
    )


def _zeros(spec: TensorSpec) -> np.ndarray[Any, Any]:
    return np.zeros(tuple(d if d > 0 else 2 for d in spec.shape), dtype=spec.numpy_dtype)


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
