"""PyTorch runtime: serves a version's ``model.pt2`` (ExportedProgram) or ``model.ts``.

Without ``modelship.json``, a program's input names serve; its outputs are ``output_0``...
On a GPU (``--device auto`` finds one, or ``cuda:N``) each batch's inputs cross to the device
once and its outputs come back once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelship.devices import torch_device
from modelship.errors import BadConfig, InvalidInput, RuntimeUnavailable
from modelship.manifest import Manifest
from modelship.runtimes.base import Arrays, refused_input
from modelship.signature import DEFAULT_SIGNATURE, Signature, TensorSpec

__all__ = ["TorchRuntime", "load_torch", "program_signatures"]


class TorchRuntime:
    """A loaded PyTorch module behind named signatures; always run in eval/inference mode."""

    def __init__(
        self, torch: Any, module: Any, signatures: dict[str, Signature], device: str = "cpu"
    ) -> None:
        self.name = "torch"
        self.signatures = signatures
        self.device = device
        self._torch = torch
        self._module = module
        self._on_gpu = device != "cpu"

    def predict(self, signature_name: str, inputs: Arrays) -> Arrays:
        signature = self.signatures.get(signature_name) or next(iter(self.signatures.values()))
        missing = [name for name in signature.inputs if name not in inputs]
        if missing:
            raise InvalidInput(f"missing input(s) {', '.join(missing)}")
        torch = self._torch
        tensors = [
            torch.from_numpy(np.ascontiguousarray(inputs[name], dtype=spec.numpy_dtype))
            for name, spec in signature.inputs.items()
        ]
        if self._on_gpu:
            tensors = [tensor.to(self.device) for tensor in tensors]
        try:
            with torch.inference_mode():
                result = self._module(*tensors)
                if isinstance(result, dict):
                    result = tuple(result.values())
                values = result if isinstance(result, (tuple, list)) else (result,)
                if self._on_gpu:
                    # Copies queued together, then one wait for all of them.
                    values = [value.to("cpu", non_blocking=True) for value in values]
                    torch.cuda.synchronize(self.device)
        except torch.OutOfMemoryError:
            # Give the failed batch's cached blocks back before the next request needs them.
            del tensors
            if self._on_gpu:
                torch.cuda.empty_cache()
            raise
        except (IndexError, ValueError, AssertionError, RuntimeError) as exc:
            # What a module raises on values it cannot take: an index past an embedding, a
            # failed export guard (``x.size()[0] == 1``), shapes a matmul refuses. A CUDA
            # error is the device's failure, not the request's.
            if "CUDA error" in str(exc):
                raise
            raise refused_input(exc) from exc
        if len(values) != len(signature.outputs):
            raise BadConfig(
                f"the model returned {len(values)} outputs, its signature names "
                f"{len(signature.outputs)}"
            )
        return {
            name: value.detach().numpy()
            for name, value in zip(signature.outputs, values, strict=True)
        }

    def close(self) -> None:
        # Only this object refers to the module; dropping it frees the weights.
        del self._module


def program_signatures(program: Any) -> dict[str, Signature]:
    """The signature an ExportedProgram declares: its user inputs by name, its outputs as
    ``output_0``... with the dtypes and shapes the export traced (a symbolic batch is -1)."""
    inputs: dict[str, TensorSpec] = {}
    for spec in program.graph_signature.input_specs:
        if spec.kind.name != "USER_INPUT":
            continue
        meta = program.graph.find_nodes(op="placeholder", target=spec.arg.name)[0].meta["val"]
        inputs[spec.arg.name] = _tensor_spec(meta)
    (output_node,) = program.graph.find_nodes(op="output")
    values = {getattr(node, "name", None): node for node in output_node.args[0]}
    outputs: dict[str, TensorSpec] = {}
    for spec in program.graph_signature.output_specs:
        if spec.kind.name != "USER_OUTPUT":
            continue
        node = values.get(getattr(spec.arg, "name", None))
        outputs[f"output_{len(outputs)}"] = _tensor_spec(node.meta.get("val") if node else None)
    return {DEFAULT_SIGNATURE: Signature(inputs, outputs)}


def _tensor_spec(meta: Any) -> TensorSpec:
    """A graph value's dtype and shape (symbolic dimensions as -1); float32 [-1] if unknown."""
    if meta is None or not hasattr(meta, "shape"):
        return TensorSpec("float32", (-1,))
    shape = tuple(d if isinstance(d, int) else -1 for d in meta.shape)
    return TensorSpec(str(meta.dtype).removeprefix("torch."), shape)


def load_torch(
    path: Path, manifest: Manifest | None = None, threads: int = 0, device: str = "cpu"
) -> TorchRuntime:
    """Load the native PyTorch artifact of the version directory ``path`` onto ``device``
    (``auto``: the first GPU when PyTorch sees one).

    Raises:
        RuntimeUnavailable: torch is not installed.
        BadConfig: the directory holds no loadable ``model.pt2`` or ``model.ts``, or ``device``
            names a GPU that PyTorch does not see.
    """
    try:
        import torch
    except ModuleNotFoundError as exc:
        raise RuntimeUnavailable(
            f"{path} holds only a PyTorch artifact: pip install 'modelship[torch]' to serve it"
        ) from exc
    device, _ = torch_device(device)
    program_path, script_path = path / "model.pt2", path / "model.ts"
    try:
        if program_path.is_file():
            program = torch.export.load(str(program_path))
            if device != "cpu":
                from torch.export.passes import move_to_device_pass

                # Moves parameters, buffers and the constants the graph captured.
                program = move_to_device_pass(program, device)
            module = program.module()
            signatures = manifest.signatures if manifest else program_signatures(program)
        elif script_path.is_file():
            load_script: Any = torch.jit.load  # untyped
            module = load_script(str(script_path), map_location=device).eval()
            if manifest is None:
                raise BadConfig(f"{script_path} needs a modelship.json naming its signature")
            signatures = manifest.signatures
        else:
            raise BadConfig(f"{path} holds neither model.pt2 nor model.ts")
    except BadConfig:
        raise
    except Exception as exc:  # torch raises many unrelated types for a bad file
        raise BadConfig(f"cannot load the PyTorch artifact in {path}: {exc}") from exc
    if threads:
        torch.set_num_threads(threads)
    return TorchRuntime(torch, module, signatures, device)
