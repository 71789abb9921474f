"""What the image classifier's recipes share, whatever framework trains the network.

Both take the same settings, feed the network the same served input (RGB scaled to
``[0, 1]``, ``N x H x W x 3``; normalisation is inside the model) and declare the same
signature, so a version trained by either serves the same way.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from modelship.data.images import ImageDataset, ImagePreprocessing
from modelship.signature import PREDICT_METHOD, Signature, TensorSpec
from modelship.training.recipe import INPUT_NAME, OUTPUT_NAME

__all__ = ["ImageRecipeBase"]


class ImageRecipeBase:
    """Settings, served input and signature of an image recipe; subclasses train and export.

    Args:
        learning_rate: the optimiser's starting step size (a cosine takes it to 1/50).
        batch_size: examples per step.
        seed: seeds initialisation, dropout, shuffling and augmentation.
        threads: intra-op threads; 0 uses all cores up to 4.
        augmentation: random flips and shifts while training.
        device: where to train, resolved (``cpu`` or ``cuda:N``; see training.device).
        amp: mixed precision on a GPU: ``off``, ``bf16`` or ``fp16``.
    """

    name = "images"

    def __init__(
        self,
        learning_rate: float = 3e-3,
        batch_size: int = 16,
        seed: int = 0,
        threads: int = 0,
        augmentation: bool = True,
        device: str = "cpu",
        amp: str = "off",
    ) -> None:
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.seed = seed
        self.threads = threads
        self.augmentation = augmentation
        self.device = device
        self.amp = amp
        self._rng = np.random.default_rng(seed)
        self._spec = ImagePreprocessing()
        self._n_classes = 0

    def _adopt(self, dataset: ImageDataset) -> int:
        """Take ``dataset``'s classes and preprocessing; the thread count to train with."""
        self._spec = dataset.preprocessing
        self._n_classes = dataset.n_classes
        return self.threads or max(1, min(4, os.cpu_count() or 1))

    def _scaled(self, pixels: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """uint8 NHWC pixels as the served input: float32 in ``[0, 1]``."""
        scaled: np.ndarray[Any, np.dtype[np.float32]] = pixels.astype(np.float32) * np.float32(
            self._spec.scale
        )
        return scaled

    def signature(self) -> Signature:
        """``images`` float32 ``[-1, H, W, 3]`` -> ``probabilities`` float32 ``[-1, classes]``."""
        return Signature(
            inputs={INPUT_NAME: TensorSpec("float32", (-1, *self._spec.input_shape))},
            outputs={OUTPUT_NAME: TensorSpec("float32", (-1, self._n_classes))},
            method_name=PREDICT_METHOD,
        )
