"""KServe's model server (``kserve.ModelServer``) serving an ONNX model with onnxruntime.

KServe's Python server has no ONNX runtime of its own; a ``kserve.Model`` subclass is its
documented way to serve custom code. It speaks KServe's V1 protocol on REST
(``POST /v1/models/<name>:predict`` with ``{"instances": [...]}``, TF Serving's shape) and the
Open Inference Protocol on REST (``/v2/models/<name>/infer``) and gRPC (``ModelInfer``).
Everything else stays at KServe's defaults.
"""

import argparse
from typing import Any

import kserve
import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse


class OnnxModel(kserve.Model):  # type: ignore[misc]
    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self.path = path
        self.load()

    def load(self) -> bool:
        self.session = ort.InferenceSession(self.path, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.ready = True
        return self.ready

    def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> Any:
        if isinstance(payload, InferRequest):  # Open Inference Protocol, REST or gRPC
            x = payload.inputs[0].as_numpy().astype(np.float32, copy=False)
            out = self.session.run(None, {self.input_name: x})[0]
            output = InferOutput(self.output_name, list(out.shape), "FP32")
            output.set_data_from_numpy(out, binary_data=False)
            return InferResponse(payload.id or "", self.name, [output], from_grpc=payload.from_grpc)
        x = np.asarray(payload["instances"], dtype=np.float32)
        return {"predictions": self.session.run(None, {self.input_name: x})[0].tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    server = kserve.ModelServer(
        http_port=args.http_port, grpc_port=args.grpc_port, workers=args.workers
    )
    server.start([OnnxModel(args.name, args.model)])


if __name__ == "__main__":
    main()
