"""Where training runs: ``--device`` and ``--amp`` resolved once, recorded in the lineage."""

from __future__ import annotations

import pytest
import torch

from modelship.errors import BadConfig
from modelship.training import TrainResult
from modelship.training.device import TrainingDevice, autocast, training_device
from tests.fixtures.trained import trained_torch

NO_GPU = not torch.cuda.is_available()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return trained_torch(tmp_path_factory)


def test_the_version_records_the_device_it_trained_on(trained: TrainResult) -> None:
    parameters = trained.manifest.parameters
    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert parameters["device"] == expected
    assert parameters["amp"] == "off"
    assert parameters["device_name"].startswith(expected)


def test_cpu_is_always_there() -> None:
    assert training_device("torch", "cpu") == TrainingDevice("cpu", "cpu", "off")


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU")
def test_a_gpu_that_is_not_there_is_refused_naming_what_was_found() -> None:
    with pytest.raises(BadConfig, match=r"--device cuda: no CUDA GPU found \(torch .*\)"):
        training_device("torch", "cuda")


@pytest.mark.parametrize("device", ["cpu", "auto"] if NO_GPU else ["cpu"])
def test_mixed_precision_on_the_cpu_is_refused_not_ignored(device: str) -> None:
    with pytest.raises(BadConfig, match="--amp bf16 needs a CUDA GPU and this run trains on"):
        training_device("torch", device, "bf16")


def test_unknown_precision_and_device_spellings() -> None:
    with pytest.raises(BadConfig, match="--amp 'fp8': use one of off, bf16, fp16"):
        training_device("torch", "cpu", "fp8")
    with pytest.raises(BadConfig, match="is not a device"):
        training_device("torch", "tpu")


def test_autocast_is_a_no_op_off_the_gpu() -> None:
    with autocast(torch, "cpu", "bf16"):
        product = torch.ones(2, 2) @ torch.ones(2, 2)
    assert product.dtype == torch.float32
