"""``--device`` spellings, the device each one picks, and what the installed frameworks see."""

from __future__ import annotations

import pytest
import torch

from modelship.devices import (
    DeviceRequest,
    choose_device,
    onnxruntime_devices,
    parse_device,
    serving_device,
    torch_device,
    torch_devices,
)
from modelship.errors import BadConfig

NO_GPU = not torch.cuda.is_available()


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("auto", DeviceRequest("auto")),
        ("CPU", DeviceRequest("cpu")),
        ("cuda", DeviceRequest("cuda")),
        ("cuda:1", DeviceRequest("cuda", 1)),
        ("gpu:0", DeviceRequest("cuda", 0)),
    ],
)
def test_device_spellings(text: str, parsed: DeviceRequest) -> None:
    assert parse_device(text) == parsed


@pytest.mark.parametrize("text", ["tpu", "cuda:", "cuda:-1", "cpu:0", "auto:1", "", "cuda:x"])
def test_other_spellings_are_refused_with_the_accepted_ones(text: str) -> None:
    with pytest.raises(BadConfig, match=r"is not a device; use auto .*cpu, cuda .* or cuda:N"):
        parse_device(text)


@pytest.mark.parametrize(
    ("request_", "gpus", "chosen"),
    [("auto", 0, "cpu"), ("auto", 2, "cuda:0"), ("cpu", 2, "cpu"), ("cuda", 1, "cuda:0")],
)
def test_the_device_each_request_picks(request_: str, gpus: int, chosen: str) -> None:
    assert choose_device(request_, gpus, "seen") == chosen


def test_cuda_without_a_gpu_names_what_was_found() -> None:
    with pytest.raises(BadConfig) as caught:
        choose_device("cuda", 0, "torch 2.13.0+cpu: CPU-only build")
    assert caught.value.message == (
        "--device cuda: no CUDA GPU found (torch 2.13.0+cpu: CPU-only build); use --device cpu"
    )


def test_a_gpu_index_past_the_last_one_names_the_gpus_there_are() -> None:
    with pytest.raises(BadConfig, match=r"cuda:3: there is no such GPU, only cuda:0 \(H200\)"):
        choose_device("cuda:3", 1, "H200")
    with pytest.raises(BadConfig, match=r"only cuda:0 to cuda:1"):
        choose_device("cuda:2", 2, "two")


def test_torch_reports_its_gpus_as_torch_itself_sees_them() -> None:
    seen = torch_devices()
    assert seen.installed
    assert seen.version == torch.__version__
    assert len(seen.gpus) == torch.cuda.device_count()
    assert seen.note


def test_onnxruntime_reports_its_providers() -> None:
    seen = onnxruntime_devices()
    assert "CPUExecutionProvider" in seen.providers


@pytest.mark.skipif(not NO_GPU, reason="this machine has a GPU")
def test_without_a_gpu_auto_is_the_cpu_and_cuda_is_refused() -> None:
    assert torch_device("auto") == ("cpu", "cpu")
    with pytest.raises(BadConfig, match="--device cuda:1: no CUDA GPU found"):
        torch_device("cuda:1")
    assert serving_device("auto") == "auto"
    with pytest.raises(BadConfig, match=r"no CUDA GPU found \(torch: .*onnxruntime: "):
        serving_device("cuda")
