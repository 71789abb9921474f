"""The gRPC server: TF Serving's and the Open Inference Protocol's services, health, reflection.

It runs on the same event loop as the REST server (started from the REST app's lifespan, see
:func:`grpc_lifespan`), so both share one dataplane, one registry and one inference pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from modelship.errors import BadConfig
from modelship.serving.dataplane import DataPlane
from modelship.serving.grpc.generated import (
    POOL,
    tfs_model_service_pb2_grpc,
    tfs_prediction_service_pb2_grpc,
    v2_grpc_service_pb2_grpc,
)
from modelship.serving.grpc.tfserving import ModelServicer, PredictionServicer
from modelship.serving.grpc.v2 import InferenceServicer
from modelship.settings import ServeSettings

__all__ = ["GrpcServer", "build_grpc_server", "grpc_lifespan", "start_grpc", "stop_grpc"]

logger = logging.getLogger("modelship.grpc")

SERVICE_NAMES = (
    "tensorflow.serving.PredictionService",
    "tensorflow.serving.ModelService",
    "inference.GRPCInferenceService",
)
# The generated registration functions, typed here because the generated code is not.
_ADDERS: tuple[Callable[[Any, Any], None], ...] = (
    tfs_prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server,
    tfs_model_service_pb2_grpc.add_ModelServiceServicer_to_server,
    v2_grpc_service_pb2_grpc.add_GRPCInferenceServiceServicer_to_server,
)
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class GrpcServer:
    """A built gRPC server, the port it bound, and the health service it keeps current."""

    server: Any  # grpc.aio.Server
    port: int
    health: Any  # grpc_health.v1.health.aio.HealthServicer
    dataplane: DataPlane
    health_interval: float = 1.0
    _watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        await self.update_health()
        await self.server.start()
        self._watcher = asyncio.create_task(self._watch_health())

    async def stop(self, grace: float | None) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        # Tell health watchers first, so load balancers stop sending before the drain.
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    async def update_health(self) -> None:
        """SERVING for the server ("") when every model has an AVAILABLE version; per model,
        under its name, when that model has one."""
        await self.health.set("", _SERVING if self.dataplane.ready() else _NOT_SERVING)
        for entry in self.dataplane.registry.models():
            ready = entry.latest_available() is not None
            await self.health.set(entry.name, _SERVING if ready else _NOT_SERVING)

    async def _watch_health(self) -> None:
        # Versions load and unload off the request path; polling the registry keeps the
        # health answers (and Watch streams) current without coupling it to the loader.
        while True:
            await asyncio.sleep(self.health_interval)
            try:
                await self.update_health()
            except Exception:  # never let a health refresh kill the loop; log and go on
                logger.exception("health status refresh failed")


def build_grpc_server(
    dataplane: DataPlane,
    host: str,
    port: int,
    *,
    max_message_bytes: int = 64 * 1024 * 1024,
    reuse_port: bool = True,
) -> GrpcServer:
    """A grpc.aio server with every service added and bound to ``host:port`` (not started).

    Must be called with the event loop that will run it. Port 0 binds a free port (see
    :attr:`GrpcServer.port`).

    Raises:
        BadConfig: the address cannot be bound.
    """
    options = [
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        # Several worker processes may serve one port; the kernel spreads connections.
        ("grpc.so_reuseport", 1 if reuse_port else 0),
    ]
    server = grpc.aio.server(options=options)
    for add, servicer in zip(
        _ADDERS,
        (PredictionServicer(dataplane), ModelServicer(dataplane), InferenceServicer(dataplane)),
        strict=True,
    ):
        add(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server, POOL
    )
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError as exc:
        raise BadConfig(f"cannot listen for gRPC on {address}: {exc}; choose --port") from exc
    if bound == 0:
        raise BadConfig(f"cannot listen for gRPC on {address}: is the port in use? choose --port")
    return GrpcServer(server=server, port=bound, health=health_servicer, dataplane=dataplane)


async def start_grpc(dataplane: DataPlane, settings: ServeSettings) -> GrpcServer | None:
    """Build and start the gRPC server the settings ask for; None when ``port`` is 0."""
    if settings.port == 0:
        return None
    grpc_server = build_grpc_server(
        dataplane,
        settings.grpc_host,
        settings.port,
        max_message_bytes=settings.max_body_bytes,
        # Worker processes share the port; a lone server must not share it with a stranger.
        reuse_port=settings.worker_count() > 1,
    )
    await grpc_server.start()
    logger.info("gRPC API at %s:%d", settings.grpc_host, grpc_server.port)
    return grpc_server


async def stop_grpc(grpc_server: GrpcServer | None, grace: float | None = 30) -> None:
    """Drain in-flight calls for up to ``grace`` seconds, then close."""
    if grpc_server is not None:
        await grpc_server.stop(grace)


def grpc_lifespan(
    dataplane: DataPlane, settings: ServeSettings, grace: float = 30
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A Starlette lifespan that runs the gRPC server beside the REST app, on its loop."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        grpc_server = await start_grpc(dataplane, settings)
        try:
            yield
        finally:
            await stop_grpc(grpc_server, grace)

    return lifespan
