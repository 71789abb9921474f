"""A BentoML service running an ONNX model with onnxruntime, at BentoML's defaults.

``POST /predict`` with ``{"instances": [[...], ...]}`` answers ``{"predictions": [...]}``;
the model file comes from ``BENCH_MODEL``. Run: ``bentoml serve bentoml_onnx:OnnxService``.
"""

import os

import bentoml
import numpy as np
import onnxruntime as ort


@bentoml.service
class OnnxService:
    def __init__(self) -> None:
        self.session = ort.InferenceSession(
            os.environ["BENCH_MODEL"], providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name

    @bentoml.api
    def predict(self, instances: list[list[float]]) -> dict[str, list[list[float]]]:
        x = np.asarray(instances, dtype=np.float32)
        return {"predictions": self.session.run(None, {self.input_name: x})[0].tolist()}
