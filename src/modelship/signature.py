"""Signatures: the named, typed tensors a model version takes and returns.

The vocabulary follows TensorFlow Serving's ``signature_def`` (inputs and outputs keyed by name,
each with a dtype and a shape where ``-1`` is a variable dimension), so the metadata endpoint can
answer in TF Serving's shape and the Open Inference Protocol's at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "CLASSIFY_METHOD",
    "DEFAULT_SIGNATURE",
    "PREDICT_METHOD",
    "REGRESS_METHOD",
    "Signature",
    "TensorSpec",
    "tf_dtype_name",
    "v2_datatype",
]

DEFAULT_SIGNATURE = "serving_default"
PREDICT_METHOD = "tensorflow/serving/predict"
CLASSIFY_METHOD = "tensorflow/serving/classify"
REGRESS_METHOD = "tensorflow/serving/regress"

# numpy dtype name -> (TF DataType enum name, Open Inference Protocol datatype)
_DTYPES: dict[str, tuple[str, str]] = {
    "float32": ("DT_FLOAT", "FP32"),
    "float64": ("DT_DOUBLE", "FP64"),
    "float16": ("DT_HALF", "FP16"),
    "int8": ("DT_INT8", "INT8"),
    "int16": ("DT_INT16", "INT16"),
    "int32": ("DT_INT32", "INT32"),
    "int64": ("DT_INT64", "INT64"),
    "uint8": ("DT_UINT8", "UINT8"),
    "uint16": ("DT_UINT16", "UINT16"),
    "uint32": ("DT_UINT32", "UINT32"),
    "uint64": ("DT_UINT64", "UINT64"),
    "bool": ("DT_BOOL", "BOOL"),
    "object": ("DT_STRING", "BYTES"),
    "bytes": ("DT_STRING", "BYTES"),
}


def tf_dtype_name(dtype: str) -> str:
    """TF's DataType enum name (``DT_FLOAT``) for a numpy dtype name."""
    return _DTYPES.get(dtype, ("DT_INVALID", ""))[0]


def v2_datatype(dtype: str) -> str:
    """The Open Inference Protocol datatype (``FP32``) for a numpy dtype name."""
    return _DTYPES.get(dtype, ("", "BYTES"))[1]


@dataclass(frozen=True)
class TensorSpec:
    """One named tensor: numpy dtype name and shape, ``-1`` for variable dimensions."""

    dtype: str
    shape: tuple[int, ...]

    @property
    def numpy_dtype(self) -> np.dtype[Any]:
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
        return {"dtype": self.dtype, "shape": list(self.shape)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TensorSpec:
        return cls(dtype=str(data["dtype"]), shape=tuple(int(d) for d in data["shape"]))


@dataclass(frozen=True)
class Signature:
    """A callable entry point of a version: named inputs to named outputs."""

    inputs: dict[str, TensorSpec]
    outputs: dict[str, TensorSpec]
    method_name: str = PREDICT_METHOD
    name: str = DEFAULT_SIGNATURE
    extra: dict[str, Any] = field(default_factory=dict)

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

    def to_tf_serving(self) -> dict[str, Any]:
        """This signature as TF Serving's metadata endpoint renders a SignatureDef."""

        # A SavedModel's signature knows the graph tensor behind each key ("serving_default_x:0");
        # other runtimes use the key itself, as their graphs name tensors that way.
        graph_names = self.extra.get("tensor_names", {})

        def tensor_info(role: str, key: str, spec: TensorSpec) -> dict[str, Any]:
            dims = [{"size": str(d), "name": ""} for d in spec.shape]
            return {
                "dtype": tf_dtype_name(spec.dtype),
                "tensor_shape": {"dim": dims, "unknown_rank": False},
                "name": graph_names.get(role, {}).get(key, key),
            }

        return {
            "inputs": {k: tensor_info("inputs", k, v) for k, v in self.inputs.items()},
            "outputs": {k: tensor_info("outputs", k, v) for k, v in self.outputs.items()},
            "method_name": self.method_name,
            "defaults": {},
        }
