"""The device a training run computes on, and its mixed precision, resolved once per run.

PyTorch trains on ``cpu`` or ``cuda:N``; TensorFlow is shown only the chosen GPU (or none).
Mixed precision (``--amp bf16|fp16``) is for PyTorch on a GPU: on the CPU it is refused, not
silently ignored, since it would change nothing there but the record.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from modelship.devices import choose_device, parse_device, tensorflow_devices, torch_device
from modelship.errors import BadConfig

__all__ = ["AMP_CHOICES", "TrainingDevice", "autocast", "optimizer_step", "training_device"]

# "off": float32 throughout; bf16 needs no loss scaling, fp16 does (a GradScaler).
AMP_CHOICES = ("off", "bf16", "fp16")


@dataclass(frozen=True)
class TrainingDevice:
    """Where a run trains: ``device`` (``cpu``, ``cuda:N``), a description and the ``amp``."""

    device: str = "cpu"
    description: str = "cpu"
    amp: str = "off"

    def to_json(self) -> dict[str, str]:
        """What the version's lineage records (``parameters`` of ``modelship.json``)."""
        return {"device": self.device, "device_name": self.description, "amp": self.amp}


def training_device(framework: str, device: str = "auto", amp: str = "off") -> TrainingDevice:
    """Resolve ``--device`` and ``--amp`` for ``framework`` (``torch`` or ``tensorflow``).

    Raises:
        BadConfig: a GPU that is not there, an unknown ``amp``, or ``amp`` off a PyTorch GPU.
    """
    request = parse_device(device)
    if amp not in AMP_CHOICES:
        raise BadConfig(f"--amp {amp!r}: use one of {', '.join(AMP_CHOICES)}")
    if framework == "tensorflow":
        chosen = _tensorflow_device(request.kind, request.index)
        if amp != "off":
            raise BadConfig(f"--amp {amp} is for the PyTorch recipes; TensorFlow trains in float32")
        return chosen
    name, description = torch_device(request)
    if amp != "off" and name == "cpu":
        raise BadConfig(
            f"--amp {amp} needs a CUDA GPU and this run trains on the CPU "
            f"(--device {request}); leave --amp off or train on --device cuda"
        )
    return TrainingDevice(name, description, amp)


def _tensorflow_device(kind: str, index: int | None) -> TrainingDevice:
    info = tensorflow_devices()
    found = "; ".join(g.describe() for g in info.gpus) or f"TensorFlow: {info.note}"
    request = f"{kind}:{index}" if index is not None else kind
    name = choose_device(request, len(info.gpus), found)
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    try:
        # TensorFlow places ops on every GPU it sees: show it the chosen one, or none.
        tf.config.set_visible_devices(
            [] if name == "cpu" else [gpus[int(name.partition(":")[2])]], "GPU"
        )
    except RuntimeError as exc:  # TensorFlow already started its devices in this process
        if gpus:
            raise BadConfig(f"cannot choose TensorFlow's device after it started: {exc}") from exc
    if name == "cpu":
        return TrainingDevice()
    return TrainingDevice(name, info.gpus[int(name.partition(":")[2])].describe())


def autocast(torch: Any, device: str, amp: str) -> Any:
    """A context in which ``amp`` applies on ``device`` (a no-op context when it is off)."""
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)
    if dtype is None or device == "cpu":
        return contextlib.nullcontext()
    return torch.autocast("cuda", dtype=dtype)


def optimizer_step(loss: Any, optimizer: Any, scaler: Any | None) -> None:
    """Backward and step, through the fp16 loss scaler (``torch.amp.GradScaler``) if any."""
    if scaler is None:
        loss.backward()
        optimizer.step()
        return
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
