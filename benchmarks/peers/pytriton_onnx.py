"""NVIDIA Triton Inference Server (bundled by the ``nvidia-pytriton`` package) serving an ONNX
model through a Python callable that runs onnxruntime, at PyTriton's defaults.

Triton speaks the Open Inference Protocol on REST (``/v2/models/<name>/infer``) and gRPC
(``ModelInfer``). Settings from the command line: model path, name and the three ports.
"""

import argparse

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import Tensor
from pytriton.triton import Triton, TritonConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, required=True)
    args = parser.parse_args()
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    first_input, first_output = session.get_inputs()[0], session.get_outputs()[0]
    width = int(first_input.shape[1])
    classes = int(first_output.shape[1])

    @batch  # type: ignore[misc]
    def infer(**inputs: np.ndarray) -> dict[str, np.ndarray]:
        x = inputs[first_input.name].astype(np.float32, copy=False)
        return {first_output.name: session.run(None, {first_input.name: x})[0]}

    config = TritonConfig(
        http_address="127.0.0.1",
        http_port=args.http_port,
        grpc_address="127.0.0.1",
        grpc_port=args.grpc_port,
        metrics_port=args.metrics_port,
    )
    with Triton(config=config) as triton:
        triton.bind(
            model_name=args.name,
            infer_func=infer,
            inputs=[Tensor(name=first_input.name, dtype=np.float32, shape=(width,))],
            outputs=[Tensor(name=first_output.name, dtype=np.float32, shape=(classes,))],
        )
        triton.serve()


if __name__ == "__main__":
    main()
