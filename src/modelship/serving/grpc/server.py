"""The gRPC server: TF Serving's and the Open Inference Protocol's services, health, reflection.
It runs on the REST server's event loop (:func:`grpc_lifespan`), sharing its dataplane.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from modelship.errors import BadConfig
from modelship.protos import (
    POOL,
    tfs_model_service_pb2_grpc,
    tfs_prediction_service_pb2_grpc,
    v2_grpc_service_pb2_grpc,
)
from modelship.serving.dataplane import DataPlane
from modelship.serving.grpc.decoding import TolerantRegistration
from modelship.serving.grpc.tfserving import ModelServicer, PredictionServicer
from modelship.serving.grpc.tls import server_credentials
from modelship.serving.grpc.v2 import InferenceServicer
from modelship.settings import ServeSettings

__all__ = [
    "ConnectionLimits",
    "GrpcServer",
    "build_grpc_server",
    "grpc_lifespan",
    "parse_channel_arguments",
    "start_grpc",
    "stop_grpc",
]

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
# TF Serving reports its two services under these names in the standard health service.
TF_SERVING_HEALTH_NAMES = ("ModelService", "PredictionService")
_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass
class GrpcServer:
    """A built gRPC server, the port it bound (0: none), and the health service it keeps
    current (None when ``--enable_grpc_healthcheck_service=false``)."""

    server: Any  # grpc.aio.Server
    port: int
    health: Any  # grpc_health.v1.health.aio.HealthServicer | None
    dataplane: DataPlane
    health_interval: float = 1.0
    _watcher: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        await self.update_health()
        await self.server.start()
        if self.health is not None:
            self._watcher = asyncio.create_task(self._watch_health())

    async def stop(self, grace: float | None) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        # Tell health watchers first, so load balancers stop sending before the drain.
        if self.health is not None:
            await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)

    async def update_health(self) -> None:
        """SERVING for the server ("") when every model has an AVAILABLE version; per model,
        under its name, when that model has one; TF Serving's service names: SERVING."""
        if self.health is None:
            return
        await self.health.set("", _SERVING if self.dataplane.ready() else _NOT_SERVING)
        for name in TF_SERVING_HEALTH_NAMES:
            await self.health.set(name, _SERVING)
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


@dataclass(frozen=True)
class ConnectionLimits:
    """What one client's connections may hold, so slow, idle or many connections cannot
    exhaust file descriptors or memory. Keepalive pings are policed by gRPC's own defaults
    (a client pinging without calls more often than every 5 minutes is disconnected)."""

    handshake_timeout_seconds: float = 20.0
    idle_timeout_seconds: float = 300.0
    max_connections: int = 1000
    max_concurrent_streams: int = 256

    def channel_options(self) -> dict[str, int | str]:
        return {
            # A connection that never completes TLS and the HTTP/2 preface is closed.
            "grpc.server_handshake_timeout_ms": round(self.handshake_timeout_seconds * 1000),
            # One without calls gets GOAWAY and is closed; grpcio clients reconnect on demand.
            "grpc.max_connection_idle_ms": round(self.idle_timeout_seconds * 1000),
            # Past this many, a new connection is closed as soon as it is accepted.
            "grpc.max_allowed_incoming_connections": self.max_connections,
            "grpc.max_concurrent_streams": self.max_concurrent_streams,
        }


def parse_channel_arguments(text: str) -> list[tuple[str, int | str]]:
    """TF Serving's ``--grpc_channel_arguments``: ``key=value,key=value`` pairs; as in TF
    Serving, a value that reads as an integer is passed as one, anything else as a string."""
    pairs: list[tuple[str, int | str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise BadConfig(
                f"--grpc_channel_arguments: {item!r} is not key=value "
                "(e.g. grpc.max_connection_age_ms=2000)"
            )
        try:
            pairs.append((key, int(value)))
        except ValueError:
            pairs.append((key, value))
    return pairs


def build_grpc_server(
    dataplane: DataPlane,
    host: str,
    port: int | None,
    *,
    max_message_bytes: int = 64 * 1024 * 1024,
    reuse_port: bool = True,
    socket_path: Path | None = None,
    channel_arguments: Sequence[tuple[str, int | str]] = (),
    max_concurrent_rpcs: int | None = None,
    limits: ConnectionLimits | None = None,
    health_service: bool = True,
    credentials: grpc.ServerCredentials | None = None,
) -> GrpcServer:
    """A grpc.aio server with every service added and bound to ``host:port`` (not started).

    Must be called with the event loop that will run it. Port 0 binds a free port (see
    :attr:`GrpcServer.port`); None binds none (only ``socket_path``). ``channel_arguments``
    override modelship's own options (``limits`` among them); ``credentials`` (TLS) apply to
    every address.
    """
    options: dict[str, int | str] = {
        "grpc.max_receive_message_length": max_message_bytes,
        "grpc.max_send_message_length": max_message_bytes,
        # Several worker processes may serve one port; the kernel spreads connections.
        "grpc.so_reuseport": 1 if reuse_port else 0,
        **(limits or ConnectionLimits()).channel_options(),
    }
    options.update(channel_arguments)
    server = grpc.aio.server(
        options=list(options.items()), maximum_concurrent_rpcs=max_concurrent_rpcs
    )
    for add, servicer in zip(
        _ADDERS,
        (PredictionServicer(dataplane), ModelServicer(dataplane), InferenceServicer(dataplane)),
        strict=True,
    ):
        add(servicer, TolerantRegistration(server))
    names: tuple[str, ...] = (*SERVICE_NAMES, reflection.SERVICE_NAME)
    health_servicer = None
    if health_service:
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = (*names, health.SERVICE_NAME)
    reflection.enable_server_reflection(names, server, POOL)
    bound = 0
    if port is not None:
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        bound = _listen(server, address, credentials)
    if socket_path is not None:
        _listen(server, f"unix:{socket_path}", credentials)
    return GrpcServer(server=server, port=bound, health=health_servicer, dataplane=dataplane)


def _listen(server: Any, address: str, credentials: grpc.ServerCredentials | None) -> int:
    try:
        if credentials is None:
            bound = int(server.add_insecure_port(address))
        else:
            bound = int(server.add_secure_port(address, credentials))
    except RuntimeError as exc:
        raise BadConfig(
            f"cannot listen for gRPC on {address}: {exc}; choose --port or --grpc_socket_path"
        ) from exc
    if bound == 0:
        raise BadConfig(
            f"cannot listen for gRPC on {address}: is it in use? "
            "choose --port or --grpc_socket_path"
        )
    return bound


async def start_grpc(dataplane: DataPlane, settings: ServeSettings) -> GrpcServer | None:
    """Build and start the gRPC server the settings ask for; None when ``port`` is 0 and no
    ``grpc_socket_path`` is given."""
    if settings.port == 0 and settings.grpc_socket_path is None:
        return None
    grpc_server = build_grpc_server(
        dataplane,
        settings.grpc_host,
        settings.port or None,
        max_message_bytes=settings.max_body_bytes,
        # Worker processes share the port; a lone server must not share it with a stranger.
        reuse_port=settings.worker_count() > 1,
        socket_path=settings.grpc_socket_path,
        channel_arguments=parse_channel_arguments(settings.grpc_channel_arguments),
        max_concurrent_rpcs=settings.grpc_max_threads or None,
        limits=ConnectionLimits(
            handshake_timeout_seconds=settings.grpc_handshake_timeout_seconds,
            idle_timeout_seconds=settings.grpc_idle_timeout_seconds,
            max_connections=settings.grpc_max_connections,
            max_concurrent_streams=settings.grpc_max_concurrent_streams,
        ),
        health_service=settings.enable_grpc_healthcheck_service,
        credentials=(
            server_credentials(settings.ssl_config_file)
            if settings.ssl_config_file is not None
            else None
        ),
    )
    await grpc_server.start()
    tls = " (TLS)" if settings.ssl_config_file is not None else ""
    if grpc_server.port:
        logger.info("gRPC API at %s:%d%s", settings.grpc_host, grpc_server.port, tls)
    if settings.grpc_socket_path is not None:
        logger.info("gRPC API at unix:%s%s", settings.grpc_socket_path, tls)
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
