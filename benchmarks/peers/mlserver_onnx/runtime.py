"""``OnnxRuntime``: an MLServer custom runtime that runs an ONNX model with onnxruntime.

This is MLServer's documented extension point (subclass ``MLModel``; point
``model-settings.json``'s ``implementation`` at it). With adaptive batching MLServer
concatenates requests along the first axis before calling :meth:`predict`.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri


class OnnxRuntime(MLModel):  # type: ignore[misc]
    """Serve ``parameters.uri`` (an ONNX file) with one onnxruntime session."""

    async def load(self) -> bool:
        uri = await get_model_uri(self._settings, wellknown_filenames=["model.onnx"])
        self._session = ort.InferenceSession(uri, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0].name
        self._output = self._session.get_outputs()[0].name
        self.ready = True
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        array = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32, copy=False)
        result = self._session.run([self._output], {self._input: array})[0]
        return InferenceResponse(
            model_name=self.name,
            model_version=self.version,
            id=payload.id,
            outputs=[NumpyCodec.encode_output(self._output, result)],
        )
