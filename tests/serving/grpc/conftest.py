"""gRPC fixtures: a real ``modelship serve`` process, and an in-process server on a free port
whose registry a test can shape (several models, versions, labels)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.grpc.server import build_grpc_server
from tests.conftest import RunningServer, ToyModel
from tests.fixtures.registry import load_version
from tests.fixtures.toy_models import half_plus_two, softmax_linear, write_version


@pytest.fixture(scope="session")
def grpc_channel(toy_server: RunningServer) -> Iterator[grpc.Channel]:
    """A channel to the gRPC port of the real ``toy`` server process."""
    with grpc.insecure_channel(toy_server.grpc_target) as channel:
        yield channel


def _load(registry: Registry, name: str, version: int, path: Path) -> None:
    load_version(registry, name, version, path)


@pytest.fixture(scope="module")
def zoo(
    toy_model: ToyModel, pair_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An in-process gRPC server: ``toy`` versions 1 and 2 (label ``stable`` -> 1), ``pair``
    and ``half`` (a regression model). Yields its target address."""
    root = tmp_path_factory.mktemp("zoo")
    model, _, _ = softmax_linear(784, 10, seed=1)
    toy2 = write_version(root / "toy", 2, model, labels=[f"class{i}" for i in range(10)])
    half = write_version(root / "half", 1, half_plus_two())
    registry = Registry()
    _load(registry, "toy", 1, toy_model.base_path / "1")
    _load(registry, "toy", 2, toy2)
    registry.model("toy").labels["stable"] = 1
    _load(registry, "pair", 3, pair_model / "3")
    _load(registry, "half", 1, half)
    dataplane = DataPlane(registry, ThreadExecutor())

    ready = threading.Event()
    state: dict[str, object] = {}

    async def run() -> None:
        server = build_grpc_server(dataplane, "127.0.0.1", 0, reuse_port=False)
        await server.start()
        state["port"] = server.port
        stop = asyncio.Event()
        state["stop"] = stop
        state["loop"] = asyncio.get_running_loop()
        ready.set()
        await stop.wait()
        await server.stop(grace=1)

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    assert ready.wait(30), "in-process gRPC server did not start"
    yield f"127.0.0.1:{state['port']}"
    loop = state["loop"]
    assert isinstance(loop, asyncio.AbstractEventLoop)
    stop = state["stop"]
    assert isinstance(stop, asyncio.Event)
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    dataplane.executor.close()
