"""Signatures: the named, typed tensors a model version takes and returns.

The vocabulary follows TensorFlow Serving's ``signature_def`` (inputs and outputs keyed by name,
each with a dtype and a shape where ``-1`` is a variable dimension), so the metadata endpoint can
answer in TF Serving's shape and the Open Inference Protocol's at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

__all__ = [
    "CLASSIFY_METHOD",
    "DEFAULT_SIGNATURE",
    "PREDICT_METHOD",
    "REGRESS_METHOD",
    "Arrays",
    "Signature",
    "TensorSpec",
]

DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"

# Named arrays: what a request's inputs and a model's outputs are, batch dimension first.
Arrays = dict[str, np.ndarray[Any, Any]]


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor: numpy dtype name and shape, ``-1`` for variable dimensions; with
    ``unknown_rank`` (a SavedModel tensor of unknown rank) the shape is empty and any rank goes."""

    dtype: str
    shape: tuple[int, ...]
    unknown_rank: bool = False

    @cached_property
    def numpy_dtype(self) -> np.dtype[Any]:
        # Cached: requests read it for every input, and np.dtype() parses the name each time.
        return np.dtype(object if self.dtype in ("object", "bytes") else self.dtype)

    @property
    def row_size(self) -> int | None:
        """Elements per example (all dimensions after the batch one), if they are all known."""
        size = 1
        for dim in self.shape[1:]:
            if dim < 0:
                return None
            size *= dim
        return size

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"dtype": self.dtype, "shape": list(self.shape)}
        if self.unknown_rank:
            data["unknown_rank"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TensorSpec:
        return cls(
            dtype=str(data["dtype"]),
            shape=tuple(int(d) for d in data["shape"]),
            unknown_rank=bool(data.get("unknown_rank", False)),
        )


@dataclass(frozen=True)
class Signature:
    """A callable entry point of a version: named inputs to named outputs."""

    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    method_name: str = PREDICT_METHOD
    name: str = DEFAULT_SIGNATURE
    extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def fixed_batch(self) -> int | None:
        """The batch size the model was exported with, when its inputs declare one (an ONNX
        batch dimension of 1, ``torch.export`` without a dynamic batch); None when it varies."""
        sizes = {spec.shape[0] for spec in self.inputs.values() if spec.shape and spec.shape[0] > 0}
        return min(sizes) if sizes else None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method_name": self.method_name,
            "inputs": {k: v.to_json() for k, v in self.inputs.items()},
            "outputs": {k: v.to_json() for k, v in self.outputs.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signature:
        return cls(
            inputs={k: TensorSpec.from_json(v) for k, v in data["inputs"].items()},
            outputs={k: TensorSpec.from_json(v) for k, v in data["outputs"].items()},
            method_name=str(data.get("method_name", PREDICT_METHOD)),
            name=str(data.get("name", DEFAULT_SIGNATURE)),
        )
