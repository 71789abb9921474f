"""A small convolutional image classifier in PyTorch, exported to ONNX for serving.

The served model takes what a client can build from any photo with no knowledge of training:
RGB pixels scaled to ``[0, 1]``, ``batch x H x W x 3`` (the layout of the seed's Keras client).
Channel normalisation and the move to PyTorch's ``NCHW`` happen inside the model, and softmax is
applied only in the exported model, so the loss sees raw logits.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from modelship.data.images import ImageDataset, augment
from modelship.training.device import autocast, optimizer_step
from modelship.training.image_recipe import ImageRecipeBase
from modelship.training.recipe import INPUT_NAME, OUTPUT_NAME

__all__ = ["INPUT_NAME", "OUTPUT_NAME", "ImageCNN", "ImageTorchRecipe"]

_EVAL_BATCH = 64
_ONNX_OPSET = 17


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class ImageCNN(nn.Module):
    """A stride-2 stem, three conv blocks (32-64-64), global average pooling, one linear layer.

    The stride-2 stem quarters the cost of every later layer, which matters on a 2-core CPU;
    global pooling makes the network work at any input size, so the same recipe trains at 64
    pixels in tests and 224 in production.
    """

    def __init__(
        self,
        n_classes: int,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
    ) -> None:
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
        )
        self.features = nn.Sequential(stem, _block(16, 32), _block(32, 64), _block(64, 64))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.head = nn.Linear(64, n_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2)
        x = (x - self.mean) / self.std
        x = self.pool(self.features(x)).flatten(1)
        logits: torch.Tensor = self.head(self.dropout(x))
        return logits


class _Softmax(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(images), dim=1)


class ImageTorchRecipe(ImageRecipeBase):
    """Trains :class:`ImageCNN` with Adam and light augmentation; exports ONNX and a program."""

    framework = "torch"

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._net: ImageCNN | None = None
        self._optimizer: torch.optim.Optimizer | None = None
        self._schedule: torch.optim.lr_scheduler.LRScheduler | None = None
        self._generator = torch.Generator().manual_seed(self.seed)
        self._loss = nn.CrossEntropyLoss()
        self._device = torch.device(self.device)
        # float16 gradients underflow without loss scaling; bfloat16 has float32's range.
        self._scaler = torch.amp.GradScaler("cuda") if self.amp == "fp16" else None

    @property
    def net(self) -> ImageCNN:
        if self._net is None:
            raise RuntimeError("call build() before using the model")
        return self._net

    def build(self, dataset: ImageDataset, epochs: int = 8) -> None:
        """Create the network for ``dataset``'s classes and preprocessing, seeded.

        The learning rate follows a cosine from its start value to nearly zero over ``epochs``,
        so the last epochs settle instead of bouncing around the minimum.
        """
        torch.set_num_threads(self._adopt(dataset))
        torch.manual_seed(self.seed)
        self._net = ImageCNN(dataset.n_classes, self._spec.mean, self._spec.std).to(self._device)
        self._optimizer = torch.optim.Adam(self._net.parameters(), lr=self.learning_rate)
        self._schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            self._optimizer, T_max=max(1, epochs), eta_min=self.learning_rate / 50
        )

    def _inputs(self, pixels: np.ndarray[Any, Any]) -> torch.Tensor:
        # uint8 crosses to the device, a quarter of float32's bytes; it is scaled there.
        tensor = torch.from_numpy(np.ascontiguousarray(pixels)).to(self._device)
        return tensor.float() * float(self._spec.scale)

    def fit_epoch(
        self,
        x: np.ndarray[Any, Any],
        y: np.ndarray[Any, Any],
        on_batch: Callable[[int], None] = lambda n: None,
    ) -> tuple[float, float]:
        """One pass over ``x`` (uint8 NHWC); mean training loss and accuracy."""
        net, optimizer = self.net, self._optimizer
        if optimizer is None:
            raise RuntimeError("call build() before fit_epoch()")
        pixels = augment(x, self._rng) if self.augmentation else x
        targets = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(self._device)
        # Drawn on the CPU generator, so the order is the same on every device.
        order = torch.randperm(len(x), generator=self._generator)
        net.train()
        # Summed on the device and read once per epoch: a read per batch would wait for the GPU.
        total = torch.zeros((), device=self._device)
        correct = torch.zeros((), dtype=torch.int64, device=self._device)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            if len(batch) < 2:  # BatchNorm cannot train on a single example
                continue
            xb, yb = self._inputs(pixels[batch.numpy()]), targets[batch.to(self._device)]
            optimizer.zero_grad()
            with autocast(torch, self.device, self.amp):
                logits = net(xb)
                loss = self._loss(logits, yb)
            optimizer_step(loss, optimizer, self._scaler)
            total += loss.detach().float() * len(batch)
            correct += (logits.argmax(dim=1) == yb).sum()
            on_batch(len(batch))
        if self._schedule is not None:
            self._schedule.step()
        return float(total.item()) / len(order), int(correct.item()) / len(order)

    def _logits(self, x: np.ndarray[Any, Any]) -> torch.Tensor:
        net = self.net
        net.eval()
        with torch.inference_mode():
            parts = [
                net(self._inputs(x[i : i + _EVAL_BATCH])) for i in range(0, len(x), _EVAL_BATCH)
            ]
        return torch.cat(parts).cpu()

    def evaluate(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[float, float]:
        """Loss and accuracy in inference mode."""
        logits = self._logits(x)
        targets = torch.from_numpy(np.asarray(y, dtype=np.int64))
        loss = float(self._loss(logits, targets).item())
        return loss, float((logits.argmax(dim=1) == targets).float().mean().item())

    def predict_proba(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Class probabilities for uint8 NHWC images."""
        probs: np.ndarray[Any, np.dtype[np.float32]] = (
            torch.softmax(self._logits(x), dim=1).numpy().astype(np.float32)
        )
        return probs

    def export(self, directory: Path) -> dict[str, str]:
        """Write ``model.onnx`` and ``model.pt2`` (both with a dynamic batch) into ``directory``."""
        # Exported from a CPU copy: the served artifact must not name the training device.
        model = _Softmax(copy.deepcopy(self.net).cpu()).eval()
        example = torch.zeros(2, *self._spec.input_shape, dtype=torch.float32)
        path = directory / "model.onnx"
        # The TorchScript-based exporter prints diagnostics; keep the training output readable.
        with contextlib.redirect_stdout(io.StringIO()):
            torch.onnx.export(
                model,
                (example,),
                str(path),
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=_ONNX_OPSET,
                dynamo=False,
            )
        from modelship.training.torch_export import export_program

        # The same network for the PyTorch runtime (``--device cuda`` serves it on a GPU).
        program = export_program(model, tuple(self._spec.input_shape), directory / "model.pt2")
        return {"onnx": path.name, "torch": program.name}

    def framework_versions(self) -> dict[str, str]:
        import onnx

        return {"torch": torch.__version__, "onnx": onnx.__version__}
