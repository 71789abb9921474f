"""Which devices each installed framework sees, and the device a ``--device`` setting picks.

``--device`` takes ``auto`` (the first GPU when there is one, else the CPU), ``cpu``, ``cuda``
(the first GPU) or ``cuda:N``. Asking for a GPU that is not there is an error that names what
was found, never a silent fall back to the CPU. Frameworks are imported only when asked about.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass, field
from typing import Any

from modelship.errors import BadConfig

__all__ = [
    "DEVICE_HELP",
    "DeviceRequest",
    "FrameworkDevices",
    "GpuInfo",
    "choose_device",
    "onnxruntime_devices",
    "parse_device",
    "serving_device",
    "survey",
    "tensorflow_devices",
    "torch_device",
    "torch_devices",
]

DEVICE_HELP = "auto (a GPU when there is one), cpu, cuda (the first GPU) or cuda:N"
_SPELLING = re.compile(r"(auto|cpu|cuda|gpu)(?::(\d+))?")


@dataclass(frozen=True)
class DeviceRequest:
    """A parsed ``--device``: ``kind`` is ``auto``, ``cpu`` or ``cuda``; ``index`` for cuda:N."""

    kind: str
    index: int | None = None

    def __str__(self) -> str:
        return self.kind if self.index is None else f"{self.kind}:{self.index}"


def parse_device(text: str) -> DeviceRequest:
    """Read a ``--device`` value (``gpu`` is taken as ``cuda``).

    Raises:
        BadConfig: any other spelling; the message lists the accepted ones.
    """
    match = _SPELLING.fullmatch(text.strip().lower())
    if match is None or (match[2] is not None and match[1] in ("auto", "cpu")):
        raise BadConfig(f"--device {text!r} is not a device; use {DEVICE_HELP}")
    kind = "cuda" if match[1] == "gpu" else match[1]
    return DeviceRequest(kind, int(match[2]) if match[2] is not None else None)


@dataclass(frozen=True)
class GpuInfo:
    """One GPU as a framework sees it."""

    index: int
    name: str
    memory_bytes: int = 0

    def describe(self) -> str:
        memory = f", {self.memory_bytes / 2**30:.1f} GiB" if self.memory_bytes else ""
        return f"cuda:{self.index} {self.name}{memory}"


@dataclass
class FrameworkDevices:
    """What one framework sees: its version, GPUs (or execution providers) and a note."""

    framework: str
    version: str = ""
    installed: bool = True
    gpus: list[GpuInfo] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "installed": self.installed,
            "version": self.version,
            "gpus": [
                {"index": g.index, "name": g.name, "memory_bytes": g.memory_bytes}
                for g in self.gpus
            ],
            "providers": self.providers,
            "note": self.note,
        }


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def torch_devices() -> FrameworkDevices:
    """PyTorch's CUDA devices, with name and memory; nothing is allocated on them."""
    if not _installed("torch"):
        return FrameworkDevices("torch", installed=False, note="not installed")
    import torch

    info = FrameworkDevices("torch", torch.__version__)
    cuda_build = torch.version.cuda
    if not torch.cuda.is_available():
        info.note = (
            f"built for CUDA {cuda_build}; no CUDA device visible"
            if cuda_build
            else "CPU-only build (no CUDA)"
        )
        return info
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        info.gpus.append(GpuInfo(index, props.name, int(props.total_memory)))
    info.note = f"CUDA {cuda_build}"
    return info


def tensorflow_devices() -> FrameworkDevices:
    """TensorFlow's physical GPUs (``tf.config.list_physical_devices('GPU')``)."""
    if not _installed("tensorflow"):
        return FrameworkDevices("tensorflow", installed=False, note="not installed")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # its C++ start-up chatter
    import tensorflow as tf

    info = FrameworkDevices("tensorflow", tf.__version__)
    for index, device in enumerate(tf.config.list_physical_devices("GPU")):
        details = tf.config.experimental.get_device_details(device)
        info.gpus.append(GpuInfo(index, str(details.get("device_name", device.name))))
    built = tf.sysconfig.get_build_info().get("is_cuda_build", False)
    if not info.gpus:
        info.note = "built with CUDA; no GPU visible" if built else "CPU-only build (no CUDA)"
    return info


def onnxruntime_devices() -> FrameworkDevices:
    """onnxruntime's available execution providers (CUDA needs the onnxruntime-gpu package)."""
    if not _installed("onnxruntime"):
        return FrameworkDevices("onnxruntime", installed=False, note="not installed")
    import onnxruntime as ort

    providers = list(ort.get_available_providers())
    note = "" if "CUDAExecutionProvider" in providers else "no CUDA provider (onnxruntime-gpu)"
    return FrameworkDevices("onnxruntime", ort.__version__, providers=providers, note=note)


def survey() -> list[FrameworkDevices]:
    """What every framework modelship runs on sees, installed or not."""
    return [torch_devices(), tensorflow_devices(), onnxruntime_devices()]


def choose_device(request: DeviceRequest | str, gpus: int, found: str) -> str:
    """The device ``request`` picks on a machine where a framework sees ``gpus`` GPUs.

    Args:
        request: the parsed (or raw) ``--device``.
        gpus: how many GPUs the framework that will compute sees.
        found: what that framework sees, in words, for the error message.

    Returns:
        ``"cpu"`` or ``"cuda:N"``.

    Raises:
        BadConfig: a GPU was asked for that is not there; the message says what was found.
    """
    if isinstance(request, str):
        request = parse_device(request)
    if request.kind == "cpu" or (request.kind == "auto" and gpus == 0):
        return "cpu"
    index = request.index or 0
    if request.kind == "cuda" and gpus == 0:
        raise BadConfig(f"--device {request}: no CUDA GPU found ({found}); use --device cpu")
    if index >= gpus:
        names = "cuda:0" if gpus == 1 else f"cuda:0 to cuda:{gpus - 1}"
        raise BadConfig(f"--device {request}: there is no such GPU, only {names} ({found})")
    return f"cuda:{index}"


def torch_device(request: DeviceRequest | str) -> tuple[str, str]:
    """The device PyTorch computes on for ``request``, and a description of it for people.

    Raises:
        BadConfig: a GPU was asked for that PyTorch does not see.
    """
    info = torch_devices()
    found = f"torch {info.version}: {info.note or 'no GPU'}" if info.installed else info.note
    if info.gpus:
        found = "torch sees " + "; ".join(g.describe() for g in info.gpus)
    device = choose_device(request, len(info.gpus), found)
    if device == "cpu":
        return device, "cpu"
    return device, info.gpus[int(device.partition(":")[2])].describe()


def serving_device(request: DeviceRequest | str) -> str:
    """Check a server's ``--device`` before any model loads; what it will use, in words.

    ``auto`` and ``cpu`` need no check (each runtime picks for itself). For ``cuda[:N]`` the
    GPUs are counted by PyTorch, else TensorFlow; onnxruntime's CUDA provider alone cannot
    count them, so then the first load says whether the index exists.

    Raises:
        BadConfig: no installed framework sees the GPU asked for; the message lists what each
            one found.
    """
    if isinstance(request, str):
        request = parse_device(request)
    if request.kind != "cuda":
        return str(request)
    seen: list[str] = []
    for probe in (torch_devices, tensorflow_devices):
        info = probe()
        if info.gpus:
            found = f"{info.framework} sees {len(info.gpus)}"
            index = choose_device(request, len(info.gpus), found)
            return info.gpus[int(index.partition(":")[2])].describe()
        seen.append(f"{info.framework}: {info.note or 'no GPU'}")
    ort = onnxruntime_devices()
    if "CUDAExecutionProvider" in ort.providers:
        return f"{request} (onnxruntime's CUDAExecutionProvider)"
    seen.append(f"onnxruntime: {', '.join(ort.providers) or ort.note}")
    raise BadConfig(f"--device {request}: no CUDA GPU found ({'; '.join(seen)}); use --device cpu")
