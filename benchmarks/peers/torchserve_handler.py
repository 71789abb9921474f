"""A TorchServe handler running an ONNX model with onnxruntime (no PyTorch needed).

TorchServe calls ``handle(data, context)`` with a batch of requests; each request body is
``{"instances": [[...], ...]}`` and each answer ``{"predictions": [...]}``.
"""

import json
import os
from typing import Any

import numpy as np
import onnxruntime as ort

_session: Any = None


def _load(context: Any) -> Any:
    model_dir = context.system_properties.get("model_dir")
    path = os.path.join(model_dir, context.manifest["model"]["serializedFile"])
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def handle(data: Any, context: Any) -> Any:
    global _session
    if _session is None:
        _session = _load(context)
    if data is None:  # TorchServe's initialization call
        return None
    name = _session.get_inputs()[0].name
    answers = []
    for request in data:
        body = request.get("body") or request.get("data")
        if isinstance(body, bytes | bytearray):
            body = json.loads(body)
        x = np.asarray(body["instances"], dtype=np.float32)
        answers.append({"predictions": _session.run(None, {name: x})[0].tolist()})
    return answers
