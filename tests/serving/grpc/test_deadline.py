"""gRPC honours the caller's deadline: the inference is given up at the deadline (counted as
DEADLINE_EXCEEDED), the version is let go, and the server keeps serving."""

from __future__ import annotations

import asyncio
import threading

import grpc
import numpy as np
import pytest

from modelship.codecs.tensor_proto import to_tensor_proto
from modelship.protos import tfs_prediction_service_pb2 as pb
from modelship.protos import (
    tfs_prediction_service_pb2_grpc,
    v2_grpc_service_pb2,
    v2_grpc_service_pb2_grpc,
)
from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.grpc.server import build_grpc_server
from modelship.serving.metrics import Metrics
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake

ROW = np.array([[1.0, 2.0, 3.0]], dtype=np.float32)


def _requests() -> tuple[pb.PredictRequest, v2_grpc_service_pb2.ModelInferRequest]:
    predict = pb.PredictRequest()
    predict.model_spec.name = "toy"
    predict.inputs["x"].CopyFrom(to_tensor_proto(ROW))
    infer = v2_grpc_service_pb2.ModelInferRequest(model_name="toy")
    tensor = infer.inputs.add(name="x", datatype="FP32", shape=[1, 3])
    tensor.contents.fp32_contents.extend(ROW.reshape(-1).tolist())
    return predict, infer


@pytest.mark.parametrize("api", ["Predict", "ModelInfer"])
def test_a_call_past_its_deadline_is_given_up_and_the_server_keeps_serving(api: str) -> None:
    registry = Registry()
    runtime = FakeRuntime(gate=threading.Event())
    served = serve_fake(registry, runtime)
    executor = ThreadExecutor(threads=2, inline_seconds=0)
    dataplane = DataPlane(registry, executor, Metrics(registry))
    predict, infer = _requests()

    async def scenario() -> None:
        server = build_grpc_server(dataplane, "127.0.0.1", 0, reuse_port=False)
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                if api == "Predict":
                    call = tfs_prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict
                    request: object = predict
                else:
                    call = v2_grpc_service_pb2_grpc.GRPCInferenceServiceStub(channel).ModelInfer
                    request = infer
                with pytest.raises(grpc.aio.AioRpcError) as late:
                    await call(request, timeout=0.3)
                assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                # The server gave the inference up on its side too, and let the version go.
                for _ in range(100):
                    if served.holders == 0:
                        break
                    await asyncio.sleep(0.02)
                assert served.holders == 0
                assert runtime.gate is not None
                runtime.gate.set()
                answer = await call(request, timeout=10)
                assert answer is not None
        finally:
            await server.stop(grace=1)

    asyncio.run(scenario())
    executor.close()
    text = dataplane.metrics.render().decode()
    assert 'api="grpc",model="toy",status="DEADLINE_EXCEEDED",version="1"} 1.0' in text
    assert 'api="grpc",model="toy",status="OK",version="1"} 1.0' in text
