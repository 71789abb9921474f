"""A small Python load generator for what wrk cannot drive: gRPC, and REST for comparison.

N asyncio tasks each send requests back to back for a fixed time, over one HTTP/1.1
keep-alive connection each (aiohttp) or over one shared HTTP/2 channel (grpcio's aio API,
``inference.GRPCInferenceService/ModelInfer`` with tritonclient's message classes). Both
sides use the same loop and bookkeeping, so their ratio is like for like; the absolute
numbers are bounded by this Python client, not by the server, and are labelled so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import numpy as np

from benchmarks.payloads import GrpcCall, Payload
from benchmarks.wrk import WrkResult

__all__ = ["grpc_infer", "grpc_raw_call", "rest_post"]


async def _drive(
    call: Callable[[], Awaitable[bool]], connections: int, duration: float
) -> WrkResult:
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal failures
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                ok = await call()
            except Exception:  # a failed call counts as an error, like wrk's socket errors
                ok = False
            latencies.append((time.perf_counter() - start) * 1e3)
            failures += not ok

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - began
    values = np.asarray(latencies or [0.0])
    return WrkResult(
        requests=len(latencies),
        rps=len(latencies) / elapsed,
        p50_ms=float(np.percentile(values, 50)),
        p99_ms=float(np.percentile(values, 99)),
        non_2xx=failures,
        socket_errors=0,
    )


async def _rest(url: str, payload: Payload, connections: int, duration: float) -> WrkResult:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        headers = {"Content-Type": payload.content_type, **payload.headers}

        async def call() -> bool:
            async with session.post(url + payload.path, data=payload.body, headers=headers) as r:
                await r.read()
                return r.status == 200

        return await _drive(call, connections, duration)


def rest_post(url: str, payload: Payload, connections: int, duration: float) -> WrkResult:
    """Post ``payload`` from ``connections`` concurrent tasks for ``duration`` seconds."""
    return asyncio.run(_rest(url, payload, connections, duration))


async def _grpc(
    address: str, model: str, input_name: str, array: np.ndarray, connections: int, duration: float
) -> WrkResult:
    import grpc
    from tritonclient.grpc import service_pb2, service_pb2_grpc

    request = service_pb2.ModelInferRequest(model_name=model)
    tensor = request.inputs.add(name=input_name, datatype="FP32")
    tensor.shape.extend(array.shape)
    request.raw_input_contents.append(np.ascontiguousarray(array, dtype="<f4").tobytes())
    async with grpc.aio.insecure_channel(address) as channel:
        stub = service_pb2_grpc.GRPCInferenceServiceStub(channel)

        async def call() -> bool:
            await stub.ModelInfer(request, timeout=10)
            return True

        return await _drive(call, connections, duration)


def grpc_infer(
    address: str, model: str, input_name: str, array: np.ndarray, connections: int, duration: float
) -> WrkResult:
    """Call V2 ``ModelInfer`` (binary raw contents) from ``connections`` concurrent tasks."""
    return asyncio.run(_grpc(address, model, input_name, array, connections, duration))


def grpc_raw_call(address: str, call: GrpcCall, timeout: float = 30) -> bytes:
    """Send ``call``'s serialized request once; return the serialized answer (raise on error)."""
    import grpc

    with grpc.insecure_channel(address) as channel:
        method = channel.unary_unary(call.path, request_serializer=None, response_deserializer=None)
        answer: bytes = method(call.message, timeout=timeout)
        return answer
