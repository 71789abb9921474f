"""The seeds' PyTorch MNIST model: 784 -> 128 ReLU -> Dropout 0.2 -> 10, Adam 1e-3, batch 64.

Two bugs of the seed are fixed here. The seed's forward called ``F.dropout(training=True)``, so
dropout stayed on at inference; here dropout is an ``nn.Dropout`` module and every inference runs
under ``model.eval()``. The seed fed ``log_softmax`` outputs to ``CrossEntropyLoss``, which applies
log-softmax itself; here the loss gets raw logits and softmax is applied only in the exported
serving model. The seed's ``Normalize((0.5,), (0.5,))`` moves inside the model's forward, so the
served model takes raw ``[0, 1]`` pixels and clients never need to know about it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from modelship.data import Dataset
from modelship.signature import Signature
from modelship.training.device import autocast, optimizer_step
from modelship.training.recipe import (
    BatchCallback,
    TrainParams,
    image_classifier_signature,
)

__all__ = ["MnistMLP", "MnistTorchRecipe", "SoftmaxModel", "default_threads"]

# Batch used to evaluate and predict: large enough to be fast, small enough to stay light.
_EVAL_BATCH = 1024


class MnistMLP(nn.Module):
    """The seed's network; returns logits. Takes raw pixels in [0, 1], flattened."""

    def __init__(self, n_features: int = 784, hidden: int = 128, n_classes: int = 10) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_features, hidden)
        self.dropout = nn.Dropout(0.2)
        self.fc2 = nn.Linear(hidden, n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # The seed's transforms.Normalize((0.5,), (0.5,)), applied inside the model.
        x = (images - 0.5) / 0.5
        x = torch.relu(self.fc1(x))
        x = self.dropout(x)
        logits: torch.Tensor = self.fc2(x)
        return logits


class SoftmaxModel(nn.Module):
    """The served model: the trained network followed by softmax, so outputs are probabilities."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(images), dim=1)


def default_threads() -> int:
    """Intra-op threads when none are asked for: one.

    The seed's MLP does tiny matrix products (64 x 784 x 128); splitting them over threads costs
    more in synchronisation than it saves. Measured on a 2-core machine under load, one epoch
    over 20,000 images took 0.4-0.5 CPU-seconds with 1 thread and 17 CPU-seconds (100x the wall
    time) with 2, because the threads spin waiting for cores the machine is busy with.
    """
    return 1


def _flat(x: np.ndarray[Any, Any]) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), -1))


class MnistTorchRecipe:
    """Trains :class:`MnistMLP` and exports it as ONNX and as a ``torch.export`` program."""

    name = "mnist"
    framework = "torch"

    def __init__(self) -> None:
        self._net: MnistMLP | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._generator: torch.Generator | None = None
        self._params = TrainParams()
        self._n_features = 784
        self._n_classes = 10
        self._loss = nn.CrossEntropyLoss()
        self._device = torch.device("cpu")
        self._scaler: torch.amp.GradScaler | None = None

    @property
    def net(self) -> MnistMLP:
        if self._net is None:
            raise RuntimeError("call build() before using the model")
        return self._net

    def build(self, dataset: Dataset, params: TrainParams) -> None:
        torch.set_num_threads(params.threads or default_threads())
        # Weight init and dropout draw from the global generator; shuffling uses its own, so
        # the batch order does not depend on how many random numbers the model consumed.
        torch.manual_seed(params.seed)
        self._generator = torch.Generator().manual_seed(params.seed)
        self._params = params
        self._n_features = dataset.n_features
        self._n_classes = dataset.n_classes
        self._device = torch.device(params.device)
        self._net = MnistMLP(self._n_features, 128, self._n_classes).to(self._device)
        # float16 gradients underflow without loss scaling; bfloat16 has float32's range.
        self._scaler = torch.amp.GradScaler("cuda") if params.amp == "fp16" else None
        self._optimizer = torch.optim.Adam(self._net.parameters(), lr=params.learning_rate)

    def fit_epoch(
        self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], on_batch: BatchCallback
    ) -> tuple[float, float]:
        net, optimizer, generator = self.net, self._optimizer, self._generator
        if optimizer is None or generator is None:  # set together with the net in build()
            raise RuntimeError("call build() before fit_epoch()")
        # The whole split moves to the device once; batches are gathered there.
        device, params = self._device, self._params
        inputs = _flat(x).to(device)
        targets = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(device)
        # Drawn on the CPU generator, so the order is the same on every device.
        order = torch.randperm(len(inputs), generator=generator).to(device)
        net.train()
        # Summed on the device and read once per epoch: a read per batch would wait for the GPU.
        total_loss = torch.zeros((), device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        for start in range(0, len(order), params.batch_size):
            batch = order[start : start + params.batch_size]
            xb, yb = inputs[batch], targets[batch]
            optimizer.zero_grad()
            with autocast(torch, params.device, params.amp):
                logits = net(xb)
                # CrossEntropyLoss applies log-softmax itself: it must see raw logits.
                loss = self._loss(logits, yb)
            optimizer_step(loss, optimizer, self._scaler)
            total_loss += loss.detach().float() * len(batch)
            correct += (logits.argmax(dim=1) == yb).sum()
            on_batch(len(batch))
        return float(total_loss.item()) / len(order), int(correct.item()) / len(order)

    def _logits(self, x: np.ndarray[Any, Any]) -> torch.Tensor:
        net = self.net
        net.eval()  # dropout off: the seed left it on at inference
        inputs = _flat(x).to(self._device)
        with torch.inference_mode():
            return torch.cat(
                [net(inputs[i : i + _EVAL_BATCH]) for i in range(0, len(inputs), _EVAL_BATCH)]
            ).cpu()

    def evaluate(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[float, float]:
        logits = self._logits(x)
        targets = torch.from_numpy(np.asarray(y, dtype=np.int64))
        loss = float(self._loss(logits, targets).item())
        accuracy = float((logits.argmax(dim=1) == targets).float().mean().item())
        return loss, accuracy

    def predict_proba(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        probabilities: np.ndarray[Any, np.dtype[np.float32]] = (
            torch.softmax(self._logits(x), dim=1).numpy().astype(np.float32)
        )
        return probabilities

    def signature(self) -> Signature:
        return image_classifier_signature(self._n_features, self._n_classes)

    def export(self, directory: Path) -> dict[str, str]:
        from modelship.training.torch_export import export_onnx, export_program

        # Exported from a CPU copy: the served artifact must not name the training device.
        model = SoftmaxModel(copy.deepcopy(self.net).cpu()).eval()
        return {
            "onnx": export_onnx(model, self._n_features, directory / "model.onnx").name,
            "torch": export_program(model, self._n_features, directory / "model.pt2").name,
        }

    def framework_versions(self) -> dict[str, str]:
        import onnx

        return {"torch": torch.__version__, "onnx": onnx.__version__}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The trained weights (used to check reproducibility)."""
        return {k: v.detach().cpu().clone() for k, v in self.net.state_dict().items()}
