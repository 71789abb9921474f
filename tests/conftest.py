"""Shared fixtures: toy model repositories and a real server process on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.fixtures.toy_models import softmax_linear, two_in_two_out, write_version

BIN = Path(sys.executable).parent

# The suite never reaches the internet, nor a developer's own MNIST cache: without a data
# directory, MNIST recipes train on the bundled digits (tests that download serve MNIST-shaped
# files themselves). Every server and command the tests start inherits this.
os.environ["MODELSHIP_MNIST_MIRRORS"] = ""
os.environ["MODELSHIP_DATA_DIR"] = str(Path(tempfile.gettempdir()) / "modelship-tests-no-mnist")

# Fixture modules shared by several test packages.
pytest_plugins = ["tests.fixtures.validation_task"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ToyModel:
    base_path: Path
    weight: np.ndarray
    bias: np.ndarray


@pytest.fixture(scope="session")
def toy_model(tmp_path_factory: pytest.TempPathFactory) -> ToyModel:
    """``models/toy/1``: softmax(x @ W + b), 784 inputs, 10 classes."""
    base = tmp_path_factory.mktemp("repo") / "toy"
    model, weight, bias = softmax_linear(784, 10)
    write_version(base, 1, model, labels=[f"class{i}" for i in range(10)])
    return ToyModel(base, weight, bias)


@pytest.fixture(scope="session")
def pair_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``models/pair/3``: two inputs (a, b), two outputs (sum, product)."""
    base = tmp_path_factory.mktemp("repo") / "pair"
    write_version(base, 3, two_in_two_out())
    return base


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    grpc_target: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(
    args: list[str],
    ready_model: str,
    tmp: Path,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> RunningServer:
    """``modelship serve ARGS`` as a real process; returns once ``ready_model`` is AVAILABLE.

    gRPC listens on a free port too (``grpc_target``), unless ``ARGS`` sets ``--port``.
    """
    port = free_port()
    log = tmp / f"server-{port}.log"
    grpc_port = 0 if "--port" in args else free_port()
    grpc_args = [] if "--port" in args else ["--port", str(grpc_port), "--grpc_host", "127.0.0.1"]
    process = subprocess.Popen(
        [
            str(BIN / "modelship"),
            "serve",
            "--rest_api_port",
            str(port),
            "--rest_api_host",
            "127.0.0.1",
            *grpc_args,
            # One worker keeps the suite fast; tests of several workers pass --workers again.
            "--workers",
            "1",
            *args,
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
        try:
            answer = httpx.get(f"{url}/v1/models/{ready_model}", timeout=1)
            states = [v["state"] for v in answer.json().get("model_version_status", [])]
            if "AVAILABLE" in states:
                grpc_target = f"127.0.0.1:{grpc_port}" if grpc_port else ""
                return RunningServer(url, process, log, grpc_target)
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server not ready after {timeout}s:\n{log.read_text()}")


def stop_server(server: RunningServer) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="session")
def toy_server(
    toy_model: ToyModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real ``modelship serve`` process serving the toy model as ``toy``."""
    tmp = tmp_path_factory.mktemp("server")
    server = start_server(
        [
            "--model_name",
            "toy",
            "--model_base_path",
            str(toy_model.base_path),
            "--max_body_bytes",
            "200000",
        ],
        "toy",
        tmp,
    )
    yield server
    stop_server(server)


@dataclass
class ImageModel:
    """The image classifier trained once per session on the synthetic shapes, at 64 pixels."""

    data: Path
    base_path: Path
    result: object  # modelship.training.images.ImageTrainResult (torch is imported lazily)


IMAGE_TEST_SIZE = 64


@pytest.fixture(scope="session")
def image_model(tmp_path_factory: pytest.TempPathFactory) -> ImageModel:
    pytest.importorskip("torch")
    from rich.console import Console

    from modelship.data.synthetic import write_synthetic_images
    from modelship.training.images import train_images

    root = tmp_path_factory.mktemp("images")
    data = root / "data"
    write_synthetic_images(data, classes=4, per_class=40, seed=0)
    result = train_images(
        data,
        name="shapes",
        epochs=8,
        image_size=IMAGE_TEST_SIZE,
        output=root / "models",
        version=1,
        console=Console(quiet=True),
    )
    return ImageModel(data, root / "models" / "shapes", result)


@pytest.fixture(scope="session")
def image_server(
    image_model: ImageModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A real ``modelship serve`` process serving the image model as ``shapes``."""
    server = start_server(
        [
            "--model_name",
            "shapes",
            "--model_base_path",
            str(image_model.base_path),
            "--max_image_pixels",
            "4000000",
        ],
        "shapes",
        tmp_path_factory.mktemp("image-server"),
    )
    yield server
    stop_server(server)
