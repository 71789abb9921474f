"""A GPU out of memory during a request: that request answers 503 / RESOURCE_EXHAUSTED, the
event is counted, and the next request is served. The framework's own exception type is raised
by a test runtime, so this runs without a GPU."""

from __future__ import annotations

import asyncio

import grpc
import httpx
import numpy as np
import pytest
import torch
from onnxruntime.capi.onnxruntime_pybind11_state import RuntimeException

from modelship.codecs.tensor_proto import to_tensor_proto
from modelship.protos import tfs_prediction_service_pb2 as pb
from modelship.protos import tfs_prediction_service_pb2_grpc
from modelship.registry import Registry
from modelship.serving.batcher import BatchingExecutor
from modelship.serving.batching_params import BatchingParameters
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import InferenceExecutor, ThreadExecutor
from modelship.serving.grpc.server import build_grpc_server
from modelship.serving.metrics import Metrics
from modelship.serving.rest.app import build_app
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake

ROW = [1.0, 2.0, 3.0]
OOM_ERRORS = [
    torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
    RuntimeException("CUDA failure 2: out of memory ; GPU=0 ; expr=cudaMalloc"),
]


def _executor(batching: bool, metrics: Metrics) -> InferenceExecutor:
    if batching:
        return BatchingExecutor(BatchingParameters(max_batch_size=8), metrics)
    return ThreadExecutor(threads=1, inline_seconds=0)


@pytest.mark.parametrize("batching", [False, True])
@pytest.mark.parametrize("error", OOM_ERRORS, ids=["torch", "onnxruntime"])
def test_rest_answers_503_counts_it_and_keeps_serving(batching: bool, error: Exception) -> None:
    registry = Registry()
    runtime = FakeRuntime(error=error)
    serve_fake(registry, runtime)
    metrics = Metrics(registry)
    executor = _executor(batching, metrics)
    app = build_app(DataPlane(registry, executor, metrics), max_body_bytes=4096)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://modelship") as client:
            body = {"instances": [ROW]}
            full = await client.post("/v1/models/toy:predict", json=body)
            runtime.error = None  # the memory is back
            return full, await client.post("/v1/models/toy:predict", json=body)

    try:
        full, after = asyncio.run(scenario())
    finally:
        executor.close()
    assert full.status_code == 503
    assert full.json()["error"].startswith("the model ran out of device memory for this request")
    assert after.status_code == 200
    assert after.json() == {"predictions": [[2.0, 4.0, 6.0]]}
    text = metrics.render().decode()
    assert 'modelship_device_out_of_memory_total{model="toy",version="1"} 1.0' in text
    assert 'api="rest_tfs",model="toy",status="RESOURCE_EXHAUSTED",version="1"} 1.0' in text


def test_grpc_answers_resource_exhausted_and_keeps_serving() -> None:
    registry = Registry()
    runtime = FakeRuntime(error=OOM_ERRORS[0])
    serve_fake(registry, runtime)
    executor = ThreadExecutor(threads=1, inline_seconds=0)
    dataplane = DataPlane(registry, executor, Metrics(registry))
    request = pb.PredictRequest()
    request.model_spec.name = "toy"
    request.inputs["x"].CopyFrom(to_tensor_proto(np.array([ROW], dtype=np.float32)))

    async def scenario() -> None:
        server = build_grpc_server(dataplane, "127.0.0.1", 0, reuse_port=False)
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                predict = tfs_prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict
                with pytest.raises(grpc.aio.AioRpcError) as full:
                    await predict(request, timeout=10)
                assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "ran out of device memory" in str(full.value.details())
                runtime.error = None
                answer = await predict(request, timeout=10)
                assert list(answer.outputs["probabilities"].float_val) == [2.0, 4.0, 6.0]
        finally:
            await server.stop(grace=1)

    try:
        asyncio.run(scenario())
    finally:
        executor.close()
    text = dataplane.metrics.render().decode()
    assert 'modelship_device_out_of_memory_total{model="toy",version="1"} 1.0' in text
