"""The gRPC server's standard services: health checking and reflection, with grpcio's clients."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.grpc.server import build_grpc_server
from tests.conftest import ToyModel, start_server
from tests.fixtures.registry import load_version


def test_health_check(grpc_channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(grpc_channel)
    serving = health_pb2.HealthCheckResponse.SERVING
    assert stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10).status == serving
    assert stub.Check(health_pb2.HealthCheckRequest(service="toy"), timeout=10).status == serving
    with pytest.raises(grpc.RpcError) as info:
        stub.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


def test_reflection_lists_services_and_messages(grpc_channel: grpc.Channel) -> None:
    database = ProtoReflectionDescriptorDatabase(grpc_channel)
    services = set(database.get_services())
    assert {
        "tensorflow.serving.PredictionService",
        "tensorflow.serving.ModelService",
        "inference.GRPCInferenceService",
        "grpc.health.v1.Health",
    } <= services
    predict = database.FindFileContainingSymbol("tensorflow.serving.PredictRequest")
    assert "PredictRequest" in [m.name for m in predict.message_type]


def test_a_taken_port_stops_the_server_with_a_message(toy_model: ToyModel, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["--model_name", "toy", "--model_base_path", str(toy_model.base_path)]
        with pytest.raises(RuntimeError, match=f"cannot listen for gRPC on 127.0.0.1:{port}"):
            start_server(
                [*args, "--port", str(port), "--grpc_host", "127.0.0.1", "--workers", "1"],
                "toy",
                tmp_path,
            )


def test_health_follows_the_registry(toy_model: ToyModel) -> None:
    """NOT_SERVING once the only version is gone, for the model and for the server."""
    registry = Registry()
    served = load_version(registry, "toy", 1, toy_model.base_path / "1")
    dataplane = DataPlane(registry, ThreadExecutor())
    serving = health_pb2.HealthCheckResponse.SERVING
    not_serving = health_pb2.HealthCheckResponse.NOT_SERVING

    async def scenario() -> list[tuple[int, int]]:
        server = build_grpc_server(dataplane, "127.0.0.1", 0, reuse_port=False)
        server.health_interval = 0.05
        await server.start()
        seen = []
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
                stub = health_pb2_grpc.HealthStub(channel)

                async def statuses() -> tuple[int, int]:
                    toy = await stub.Check(health_pb2.HealthCheckRequest(service="toy"))
                    whole = await stub.Check(health_pb2.HealthCheckRequest(service=""))
                    return toy.status, whole.status

                seen.append(await statuses())
                served.state, served.runtime = "END", None  # unloaded
                for _ in range(200):  # the refresh runs every 50 ms; give it up to 10 s
                    await asyncio.sleep(0.05)
                    if (await statuses())[0] != serving:
                        break
                seen.append(await statuses())
        finally:
            await server.stop(1)
            dataplane.executor.close()
        return seen

    assert asyncio.run(scenario()) == [(serving, serving), (not_serving, not_serving)]
