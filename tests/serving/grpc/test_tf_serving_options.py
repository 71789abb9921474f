"""TF Serving's gRPC options on a real ``modelship serve`` process: a UNIX socket
(``--grpc_socket_path``), server arguments (``--grpc_channel_arguments``), a cap on concurrent
calls (``--grpc_max_threads``) and the standard health service on or off."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from modelship.codecs.tensor_proto import to_tensor_proto
from modelship.protos import (
    tfs_model_pb2,
    tfs_model_service_pb2,
    tfs_model_service_pb2_grpc,
    tfs_prediction_service_pb2,
    tfs_prediction_service_pb2_grpc,
)
from tests.conftest import BIN, RunningServer, ToyModel, start_server, stop_server

MAX_MESSAGE = 2000


@pytest.fixture(scope="module")
def socket_server(
    toy_model: ToyModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, Path]]:
    """``toy`` served over gRPC on a UNIX socket only (``--port=0``), one call at a time, with
    requests capped at ``MAX_MESSAGE`` bytes by a gRPC server argument."""
    tmp = tmp_path_factory.mktemp("grpc-options")
    socket = tmp / "modelship.sock"
    server = start_server(
        [
            "--model_name=toy",
            f"--model_base_path={toy_model.base_path}",
            "--port=0",
            f"--grpc_socket_path={socket}",
            "--grpc_max_threads=1",
            f"--grpc_channel_arguments=grpc.max_receive_message_length={MAX_MESSAGE}",
        ],
        "toy",
        tmp,
    )
    yield server, socket
    stop_server(server)


def _status(channel: grpc.Channel) -> Any:
    stub = tfs_model_service_pb2_grpc.ModelServiceStub(channel)
    request = tfs_model_service_pb2.GetModelStatusRequest(
        model_spec=tfs_model_pb2.ModelSpec(name="toy")
    )
    return stub.GetModelStatus(request, timeout=10)


def _predict(channel: grpc.Channel, rows: int) -> Any:
    stub = tfs_prediction_service_pb2_grpc.PredictionServiceStub(channel)
    request = tfs_prediction_service_pb2.PredictRequest(
        model_spec=tfs_model_pb2.ModelSpec(name="toy")
    )
    x = np.full((rows, 784), 0.25, dtype=np.float32)
    request.inputs["images"].CopyFrom(to_tensor_proto(x))
    return stub.Predict(request, timeout=10)


def test_grpc_answers_on_the_unix_socket(socket_server: tuple[RunningServer, Path]) -> None:
    server, socket = socket_server
    assert socket.is_socket()
    with grpc.insecure_channel(f"unix:{socket}") as channel:
        (status,) = _status(channel).model_version_status
        assert (status.version, status.state) == (1, status.AVAILABLE)
        health = health_pb2_grpc.HealthStub(channel)
        serving = health_pb2.HealthCheckResponse.SERVING
        # TF Serving's own names for its services, beside modelship's per-model ones.
        for name in ("", "toy", "ModelService", "PredictionService"):
            answer = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert answer.status == serving, name
    assert "gRPC API at unix:" in server.output()


def test_channel_arguments_reach_the_grpc_server(
    socket_server: tuple[RunningServer, Path],
) -> None:
    _, socket = socket_server
    with grpc.insecure_channel(f"unix:{socket}") as channel:
        # One row (~3 KB of floats) is over the limit the argument set.
        with pytest.raises(grpc.RpcError) as caught:
            _predict(channel, 1)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert str(MAX_MESSAGE) in (caught.value.details() or "")
        assert (
            _status(channel).model_version_status[0].state
            == tfs_model_service_pb2.ModelVersionStatus.AVAILABLE
        )


def test_calls_beyond_grpc_max_threads_are_refused_until_one_ends(
    socket_server: tuple[RunningServer, Path],
) -> None:
    _, socket = socket_server
    with grpc.insecure_channel(f"unix:{socket}") as channel:
        # A health Watch stream stays open: it holds the one call the server serves at once.
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=""), timeout=60
        )
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as caught:
            _status(channel)
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        watch.cancel()
        deadline = time.monotonic() + 30
        while True:  # the server frees the slot once it has seen the cancellation
            try:
                answer = _status(channel)
                break
            except grpc.RpcError as exc:
                if exc.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert (
            answer.model_version_status[0].state
            == tfs_model_service_pb2.ModelVersionStatus.AVAILABLE
        )


def test_the_health_service_can_be_turned_off(toy_model: ToyModel, tmp_path: Path) -> None:
    server = start_server(
        [
            "--model_name=toy",
            f"--model_base_path={toy_model.base_path}",
            "--enable_grpc_healthcheck_service=false",
        ],
        "toy",
        tmp_path,
    )
    try:
        with grpc.insecure_channel(server.grpc_target) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=10
                )
            assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
            # The serving APIs are unaffected.
            assert _status(channel).model_version_status[0].version == 1
    finally:
        stop_server(server)


def test_channel_argument_syntax_is_checked_at_start(toy_model: ToyModel) -> None:
    done = subprocess.run(
        [
            str(BIN / "modelship"),
            "serve",
            "--model_name=toy",
            f"--model_base_path={toy_model.base_path}",
            "--grpc_channel_arguments=grpc.max_connection_age_ms",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "is not key=value" in " ".join(done.stderr.split())
