"""Writing a trained PyTorch model as ONNX (for onnxruntime) and as a ``torch.export`` program.

Both artifacts take ``images`` float32 ``[batch, n_features]`` with a dynamic batch dimension
and return ``probabilities`` float32 ``[batch, n_classes]``.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch
from torch import nn

from modelship.training.recipe import INPUT_NAME, OUTPUT_NAME

__all__ = ["ONNX_OPSET", "export_onnx", "export_program", "load_program"]

ONNX_OPSET = 17
# torch.export specialises dimensions of size 0 and 1, so trace with a batch of 2 to keep the
# batch dimension symbolic.
_EXAMPLE_BATCH = 2


def _example(shape: int | tuple[int, ...]) -> torch.Tensor:
    """A batch of zeros with one example of ``shape`` (``n_features``, or ``H, W, C``)."""
    dims = (shape,) if isinstance(shape, int) else shape
    return torch.zeros(_EXAMPLE_BATCH, *dims, dtype=torch.float32)


def export_onnx(model: nn.Module, n_features: int, path: Path) -> Path:
    """Export ``model`` (in eval mode) to ONNX at ``path`` with a dynamic batch dimension.

    The TorchScript-based exporter is used (``dynamo=False``): for a plain MLP it produces the
    same graph as the dynamo exporter without needing onnxscript at export time.
    """
    model.eval()
    # The legacy exporter prints diagnostics to stdout; keep the training output readable.
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(
            model,
            (_example(n_features),),
            str(path),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
    return path


def export_program(model: nn.Module, example_shape: int | tuple[int, ...], path: Path) -> Path:
    """Save ``model`` as a ``torch.export`` ExportedProgram (``.pt2``) with a dynamic batch;
    one example is ``example_shape`` (the MLP's ``n_features``, the CNN's ``(H, W, 3)``)."""
    model.eval()
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(
        model, (_example(example_shape),), dynamic_shapes={INPUT_NAME: {0: batch}}
    )
    torch.export.save(program, str(path))
    return path


def load_program(path: Path) -> nn.Module:
    """Load a ``.pt2`` saved by :func:`export_program` as a callable module."""
    program = torch.export.load(str(path))
    module: nn.Module = program.module()
    return module
