"""On an NVIDIA GPU: training, serving and errors on CUDA against the same work on the CPU.

Marked ``gpu`` and skipped where PyTorch sees no GPU; ``scripts/gpu-check.sh`` runs them on a
machine with one.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console

from modelship.errors import BadConfig, DeviceOutOfMemory
from modelship.runtimes import RuntimeOptions, load_runtime
from modelship.runtimes.out_of_memory import as_out_of_memory
from modelship.training import TrainResult, train_model

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="PyTorch sees no CUDA GPU"),
]


def _train(tmp: Path, device: str, amp: str = "off") -> TrainResult:
    return train_model(
        epochs=2,
        output=tmp,
        version=1,
        seed=3,
        device=device,
        amp=amp,
        console=Console(file=io.StringIO()),
    )


@pytest.fixture(scope="module")
def on_cpu(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return _train(tmp_path_factory.mktemp("cpu"), "cpu")


@pytest.fixture(scope="module")
def on_gpu(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return _train(tmp_path_factory.mktemp("gpu"), "cuda")


def test_the_mlp_trains_on_the_gpu_as_well_as_on_the_cpu(
    on_cpu: TrainResult, on_gpu: TrainResult
) -> None:
    assert on_gpu.manifest.parameters["device"] == "cuda:0"
    assert torch.cuda.get_device_name(0) in on_gpu.manifest.parameters["device_name"]
    assert on_cpu.manifest.parameters["device"] == "cpu"
    # Same seeds, other kernels and dropout streams: the same quality, not the same bits.
    assert abs(on_gpu.test_accuracy - on_cpu.test_accuracy) <= 0.03


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_trains(tmp_path: Path, amp: str) -> None:
    result = _train(tmp_path, "cuda", amp)
    assert result.manifest.parameters["amp"] == amp
    assert result.test_accuracy >= 0.8


def test_the_torch_runtime_serves_on_the_gpu_what_it_serves_on_the_cpu(
    on_cpu: TrainResult,
) -> None:
    version, x = on_cpu.version_path, on_cpu.x_test
    cpu = load_runtime(version, "torch", RuntimeOptions(device="cpu"))
    gpu = load_runtime(version, "torch", RuntimeOptions(device="cuda"))
    try:
        assert getattr(gpu, "device", None) == "cuda:0"
        expected = cpu.predict("serving_default", {"images": x})["probabilities"]
        served = gpu.predict("serving_default", {"images": x})["probabilities"]
        assert isinstance(served, np.ndarray)
        assert served.dtype == np.float32
        np.testing.assert_allclose(served, expected, atol=1e-4)
    finally:
        cpu.close()
        gpu.close()


def test_auto_picks_the_gpu(on_cpu: TrainResult) -> None:
    runtime = load_runtime(on_cpu.version_path, "torch", RuntimeOptions(device="auto"))
    try:
        assert getattr(runtime, "device", None) == "cuda:0"
    finally:
        runtime.close()


def test_a_gpu_index_past_the_last_is_refused_naming_the_gpus(on_cpu: TrainResult) -> None:
    beyond = torch.cuda.device_count()
    with pytest.raises(BadConfig, match=rf"cuda:{beyond}: there is no such GPU, only cuda:0"):
        load_runtime(on_cpu.version_path, "torch", RuntimeOptions(device=f"cuda:{beyond}"))


def test_a_real_out_of_memory_is_mapped_and_the_gpu_recovers() -> None:
    free, _ = torch.cuda.mem_get_info()
    with pytest.raises(torch.cuda.OutOfMemoryError) as caught:
        torch.empty(int(free * 4), dtype=torch.uint8, device="cuda")
    assert isinstance(as_out_of_memory(caught.value), DeviceOutOfMemory)
    torch.cuda.empty_cache()
    assert float(torch.ones(1024, device="cuda").sum()) == 1024.0
