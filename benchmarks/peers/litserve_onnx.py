"""LitServe serving an ONNX model with onnxruntime (LitServe has no ONNX runtime of its own).

Request: ``{"instances": [[...], ...]}`` on ``/predict``; response ``{"predictions": [...]}``.
Settings from the command line: model path, port, workers per device, batch size and timeout.
"""

# no ``from __future__ import annotations``: LitServe reads decode_request's annotation at run time
import argparse
from typing import Any

import litserve as ls
import numpy as np
import onnxruntime as ort


class OnnxAPI(ls.LitAPI):  # type: ignore[misc]
    """One onnxruntime session per worker; batches stack instances along the first axis."""

    def __init__(self, model: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model

    def setup(self, device: str) -> None:
        self.session = ort.InferenceSession(self.model, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def decode_request(self, request: dict[str, Any]) -> np.ndarray:
        return np.asarray(request["instances"], dtype=np.float32)

    def batch(self, inputs: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
        return np.concatenate(inputs), [len(x) for x in inputs]

    def predict(self, x: Any) -> Any:
        if isinstance(x, tuple):
            stacked, sizes = x
            out = self.session.run(None, {self.input_name: stacked})[0]
            return np.split(out, np.cumsum(sizes)[:-1])
        return self.session.run(None, {self.input_name: x})[0]

    def unbatch(self, output: list[np.ndarray]) -> list[np.ndarray]:
        return output

    def encode_response(self, output: np.ndarray) -> dict[str, Any]:
        return {"predictions": output.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--max-batch-size", type=int, default=1)
    parser.add_argument("--batch-timeout", type=float, default=0.0)
    args = parser.parse_args()
    api = OnnxAPI(args.model, max_batch_size=args.max_batch_size, batch_timeout=args.batch_timeout)
    server = ls.LitServer(api, accelerator="cpu", workers_per_device=args.workers, fast_queue=True)
    server.run(port=args.port, log_level="warning", generate_client_file=False)


if __name__ == "__main__":
    main()
