"""ONNX Runtime: the serving install's default runtime, for models of either framework."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from modelship.errors import BadConfig
from modelship.manifest import Manifest
from modelship.runtimes.base import Arrays
from modelship.signature import DEFAULT_SIGNATURE, Signature, TensorSpec

__all__ = ["OnnxRuntime"]

# ONNX Runtime's type strings -> numpy dtype names
_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int8)": "int8",
    "tensor(int16)": "int16",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
    "tensor(uint8)": "uint8",
    "tensor(uint16)": "uint16",
    "tensor(uint32)": "uint32",
    "tensor(uint64)": "uint64",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


def _spec(arg: Any) -> TensorSpec:
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in arg.shape)
    return TensorSpec(dtype=_ORT_TYPES.get(arg.type, "float32"), shape=shape)


class OnnxRuntime:
    """One ONNX model behind a single ``serving_default`` signature.

    The graph's own input and output names are the signature's tensor names; the manifest,
    when present, only contributes the signature's method name.
    """

    def __init__(self, path: Path, manifest: Manifest | None = None, threads: int = 0) -> None:
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads spin by default; on a server they steal the cores that the
        # event loop and the other workers need (measured: about 2x req/s on the MNIST MLP).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=ort.get_available_providers()
            )
        except Exception as exc:  # onnxruntime raises its own opaque exception types
            raise BadConfig(f"cannot load {path}: {exc}") from exc
        self.name = "onnx"
        inputs = {arg.name: _spec(arg) for arg in self._session.get_inputs()}
        outputs = {arg.name: _spec(arg) for arg in self._session.get_outputs()}
        method = "tensorflow/serving/predict"
        if manifest is not None:
            method = manifest.default_signature.method_name
        self.signatures = {DEFAULT_SIGNATURE: Signature(inputs, outputs, method_name=method)}
        self._output_names = list(outputs)

    def predict(self, signature_name: str, inputs: Arrays) -> Arrays:
        results = self._session.run(self._output_names, inputs)
        return {
            name: np.asarray(value) for name, value in zip(self._output_names, results, strict=True)
        }

    def close(self) -> None:
        # Dropping the only reference frees the session's arena; nothing else holds it.
        del self._session
