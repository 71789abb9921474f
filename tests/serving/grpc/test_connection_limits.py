"""Slow, idle and too many gRPC connections, on real sockets against a gRPC server started in
process from the settings ``modelship serve`` builds from its flags: a connection that never
completes its handshake, or completes it and makes no call, is closed; past the connection cap
a new one is closed at once; a real grpcio client keeps being served throughout."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from modelship.cli.serve_cmd import settings_from_flags
from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.grpc.server import GrpcServer, start_grpc, stop_grpc
from tests.conftest import free_port

# The client's half of an HTTP/2 handshake: the connection preface and an empty SETTINGS frame.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
MAX_CONNECTIONS = 4
# TF Serving's service names are always SERVING, whatever models are loaded.
HEALTH_CHECK = health_pb2.HealthCheckRequest(service="PredictionService")


@contextlib.asynccontextmanager
async def serving() -> AsyncIterator[GrpcServer]:
    settings = settings_from_flags(
        {
            "port": free_port(),
            "grpc_host": "127.0.0.1",
            "grpc_handshake_timeout_seconds": 1.0,
            "grpc_idle_timeout_seconds": 1.0,
            "grpc_max_connections": MAX_CONNECTIONS,
            "workers": 1,
        }
    )
    dataplane = DataPlane(Registry(), ThreadExecutor())
    grpc_server = await start_grpc(dataplane, settings)
    assert grpc_server is not None
    try:
        yield grpc_server
    finally:
        await stop_grpc(grpc_server, grace=0)
        dataplane.executor.close()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _closed_after(sock: socket.socket, wait: float) -> float | None:
    """Seconds until the server closed ``sock`` (reading and discarding what it sent), or
    None if it was still open after ``wait``."""
    start = time.monotonic()
    sock.settimeout(wait)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start


async def _check(port: int) -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(HEALTH_CHECK, timeout=5)
    return int(answer.status)


def test_silent_and_idle_connections_are_closed() -> None:
    asyncio.run(_silent_and_idle())


async def _silent_and_idle() -> None:
    async with serving() as server:
        await _silent_and_idle_on(server)


async def _silent_and_idle_on(server: GrpcServer) -> None:
    loop = asyncio.get_running_loop()
    silent = _connect(server.port)  # a slowloris: connects, never sends a byte
    idle = _connect(server.port)  # completes the handshake, never calls
    idle.sendall(PREFACE)
    closed = await asyncio.gather(
        loop.run_in_executor(None, _closed_after, silent, 10),
        loop.run_in_executor(None, _closed_after, idle, 10),
    )
    assert all(after is not None for after in closed), closed
    # A real client on a long-lived channel is served across its idle closes: it reconnects.
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for _ in range(3):
            answer = await stub.Check(HEALTH_CHECK, timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
            await asyncio.sleep(1.3)


def test_connections_past_the_cap_are_closed() -> None:
    asyncio.run(_past_the_cap())


async def _past_the_cap() -> None:
    async with serving() as server:
        await _past_the_cap_on(server)


async def _past_the_cap_on(server: GrpcServer) -> None:
    loop = asyncio.get_running_loop()
    held = [_connect(server.port) for _ in range(MAX_CONNECTIONS)]
    for sock in held:
        sock.sendall(PREFACE)
    await asyncio.sleep(0.3)
    extra = [_connect(server.port) for _ in range(3)]
    closed = await asyncio.gather(
        *(loop.run_in_executor(None, _closed_after, sock, 0.5) for sock in extra)
    )
    assert all(after is not None for after in closed), closed
    for sock in held + extra:
        sock.close()
    # Once the held connections are gone, new ones are served again.
    await asyncio.sleep(0.3)
    assert await _check(server.port) == health_pb2.HealthCheckResponse.SERVING
