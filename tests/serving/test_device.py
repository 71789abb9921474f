"""``modelship serve --device``: the device each version computes on is in its metadata and its
metrics; a GPU that is not there stops the server before any model loads, naming what was found."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
import torch

from tests.conftest import BIN, ToyModel, start_server, stop_server


def test_the_device_is_in_the_metadata_and_the_metrics(toy_model: ToyModel, tmp_path: Path) -> None:
    server = start_server(
        ["--model_name", "toy", "--model_base_path", str(toy_model.base_path), "--device", "cpu"],
        "toy",
        tmp_path,
    )
    try:
        metadata = httpx.get(f"{server.url}/v1/models/toy/metadata", timeout=10).json()
        assert metadata["metadata"]["modelship"]["device"] == "cpu"
        text = httpx.get(f"{server.url}/metrics", timeout=10).text
        assert (
            'modelship_model_device{device="cpu",model="toy",runtime="onnx",version="1"} 1.0'
            in (text)
        )
        assert "device: cpu" in server.output()
        assert "loaded toy version 1 from" in server.output()
    finally:
        stop_server(server)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:3"])
def test_a_gpu_that_is_not_there_stops_serve(toy_model: ToyModel, device: str) -> None:
    result = subprocess.run(
        [
            str(BIN / "modelship"), "serve",
            "--model_name", "toy",
            "--model_base_path", str(toy_model.base_path),
            "--rest_api_port", "0",
            "--device", device,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert f"--device {device}: no CUDA GPU found (torch: " in message
    assert "onnxruntime: " in message
    assert "Traceback" not in result.stderr
