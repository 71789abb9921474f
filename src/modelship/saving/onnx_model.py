"""Publishing an ONNX model made elsewhere (a file or an ``onnx.ModelProto``).

The file is published as it is. It is checked by running the example inputs through
onnxruntime from the published copy and comparing with ONNX's own reference evaluator
(``onnx.reference``, an independent implementation of the operators), or with outputs the
user gives; when the reference evaluator lacks an operator, with onnxruntime on the source.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from modelship.errors import BadConfig
from modelship.saving.plan import Artifact, ExportPlan
from modelship.saving.synthetic import synthetic_inputs
from modelship.signature import PREDICT_METHOD, Arrays, Signature

__all__ = ["plan_onnx"]

ONNX_NAME = "model.onnx"


def _load(model: Any) -> Any:
    import onnx

    if isinstance(model, onnx.ModelProto):
        return model
    path = Path(model)
    try:
        return onnx.load(str(path))
    except Exception as exc:  # protobuf's DecodeError, OSError...
        raise BadConfig(f"{path} is not an ONNX model: {exc}") from exc


def _reference_outputs(
    proto: Any, session: Any, feeds: Arrays, names: list[str]
) -> tuple[Arrays, str]:
    """The outputs to compare with, and what computed them."""
    try:
        from onnx.reference import ReferenceEvaluator

        results = ReferenceEvaluator(proto).run(names, feeds)
        return dict(zip(names, map(np.asarray, results), strict=True)), "onnx.reference"
    except Exception:  # an operator the reference evaluator lacks: onnxruntime in memory
        results = session.run(names, feeds)
        return dict(zip(names, map(np.asarray, results), strict=True)), "onnxruntime (source)"


def plan_onnx(
    model: Any,
    example_inputs: Any,
    *,
    signature_name: str,
    expected_outputs: Mapping[str, Any] | None = None,
) -> ExportPlan:
    """The plan for an ONNX model: ``model.onnx`` as given, its signature from the graph."""
    import onnx
    import onnxruntime as ort

    from modelship.runtimes.onnx import onnx_spec

    proto = _load(model)
    data = proto.SerializeToString()
    try:
        session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types
        raise BadConfig(f"onnxruntime cannot load the ONNX model: {exc}") from exc
    signature = Signature(
        {arg.name: onnx_spec(arg) for arg in session.get_inputs()},
        {arg.name: onnx_spec(arg) for arg in session.get_outputs()},
        method_name=PREDICT_METHOD,
        name=signature_name,
    )
    if example_inputs is None:
        example = synthetic_inputs(signature)
    elif isinstance(example_inputs, Mapping):
        example = {k: np.asarray(v) for k, v in example_inputs.items()}
    else:
        values = example_inputs if isinstance(example_inputs, list | tuple) else [example_inputs]
        example = {n: np.asarray(v) for n, v in zip(signature.inputs, values, strict=False)}
    feeds = {
        n: np.asarray(example[n], dtype=s.numpy_dtype)
        for n, s in signature.inputs.items()
        if n in example
    }
    names = list(signature.outputs)
    if expected_outputs is not None:
        original = {k: np.asarray(v) for k, v in expected_outputs.items()}
        source = "given outputs"
    else:
        original, source = _reference_outputs(proto, session, feeds, names)

    def write(directory: Path) -> None:
        (directory / ONNX_NAME).write_bytes(data)

    return ExportPlan(
        framework="onnx",
        signature=signature,
        artifacts=[Artifact("onnx", ONNX_NAME, write, "onnx", True, (ONNX_NAME,))],
        example_inputs=feeds,
        original_outputs=original,
        framework_versions={
            "onnx": onnx.__version__,
            "onnxruntime": ort.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        parameters={
            "producer": f"{proto.producer_name} {proto.producer_version}".strip(),
            "opsets": {op.domain or "ai.onnx": int(op.version) for op in proto.opset_import},
            "checked_against": source,
        },
    )
