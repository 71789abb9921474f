"""The smallest gRPC server that answers V2 ``ModelInfer`` and TF Serving ``Predict``: a ceiling.

It takes the request bytes as they arrive (no parsing) and returns a fixed, valid answer, so
what it measures is grpcio itself on this machine: the most any Python gRPC server built on
grpcio can do, as ``raw_asgi.py``'s echo mode is for uvicorn. ``RAW_GRPC_SERVER=aio`` (the
default) runs grpc.aio on uvloop, as modelship does; ``sync`` runs grpcio's thread-pool server.

Run: ``python benchmarks/peers/raw_grpc.py --port 8500 [--server sync]``.
"""

from __future__ import annotations

import argparse
import asyncio
from concurrent import futures
from typing import Any

import grpc


def _fixed_answer() -> bytes:
    """A V2 answer with one FP32 [1, 10] output in raw contents, serialized once.

    ``Predict`` gets the same bytes: h2load counts answer bytes and does not decode them.
    """
    from tritonclient.grpc import service_pb2

    answer = service_pb2.ModelInferResponse(model_name="mnist", model_version="1")
    answer.outputs.add(name="probabilities", datatype="FP32", shape=[1, 10])
    answer.raw_output_contents.append(bytes(40))
    return bytes(answer.SerializeToString())


_ANSWER = _fixed_answer()
_SERVICES = {
    "inference.GRPCInferenceService": "ModelInfer",
    "tensorflow.serving.PredictionService": "Predict",
}


def _answer(request: bytes, context: Any) -> bytes:
    return _ANSWER


async def _answer_async(request: bytes, context: Any) -> bytes:
    return _ANSWER


def _handlers(method: Any) -> list[Any]:
    return [
        grpc.method_handlers_generic_handler(
            service, {name: grpc.unary_unary_rpc_method_handler(method)}
        )
        for service, name in _SERVICES.items()
    ]


async def _serve_aio(port: int) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(_handlers(_answer_async))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def _serve_sync(port: int) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers(_handlers(_answer))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server", choices=("aio", "sync"), default="aio")
    args = parser.parse_args()
    if args.server == "sync":
        _serve_sync(args.port)
        return
    import uvloop

    uvloop.install()
    asyncio.run(_serve_aio(args.port))


if __name__ == "__main__":
    main()
