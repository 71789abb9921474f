"""The seed's Keras MNIST model: Dense 128 ReLU -> Dropout 0.2 -> Dense 10 softmax, Adam.

Compiled as in the seed (``adam``, ``sparse_categorical_crossentropy``, ``accuracy``) and driven
by the shared pipeline one epoch at a time, so progress, metrics, curve and manifest are the
same as for the PyTorch recipe.

Two choices make the served model interchangeable with the PyTorch one:

- The seed's ``Flatten(input_shape=(28, 28))`` becomes a flat input ``images`` of 784 values,
  so both frameworks serve ``images`` float32 ``[-1, 784]`` -> ``probabilities`` float32
  ``[-1, 10]``. A client sending 28x28 images still works: the server reshapes any example with
  784 elements.
- Normalisation lives inside the model (a ``Rescaling`` layer mapping ``[0, 1]`` to
  ``[-1, 1]``, the PyTorch recipe's ``Normalize((0.5,), (0.5,))``), so clients send raw pixels.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from modelship.data import Dataset
from modelship.runtimes.tensorflow import import_tensorflow
from modelship.signature import Signature
from modelship.training.recipe import (
    INPUT_NAME,
    OUTPUT_NAME,
    BatchCallback,
    TrainParams,
    image_classifier_signature,
)

__all__ = ["MnistKerasRecipe", "build_mnist_model"]

_EVAL_BATCH = 1024

tf = import_tensorflow()
import keras  # noqa: E402  (after TF, whose import sets the log level and picks the backend)


def build_mnist_model(n_features: int = 784, hidden: int = 128, n_classes: int = 10) -> Any:
    """The seed's network on a flat input, normalisation first, softmax last (uncompiled)."""
    inputs = keras.Input(shape=(n_features,), name=INPUT_NAME, dtype="float32")
    x = keras.layers.Rescaling(scale=2.0, offset=-1.0, name="normalize")(inputs)
    x = keras.layers.Dense(hidden, activation="relu", name="dense")(x)
    x = keras.layers.Dropout(0.2, name="dropout")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="mnist_mlp")


def _flat(x: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), -1)


class _Progress(keras.callbacks.Callback):  # type: ignore[misc]
    """Reports the examples each batch consumed, as the pipeline's progress bar expects."""

    def __init__(self, n: int, batch_size: int, on_batch: BatchCallback) -> None:
        super().__init__()
        self._n, self._batch_size, self._on_batch = n, batch_size, on_batch
        self._seen = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        step = min(self._batch_size, self._n - self._seen)
        self._seen += step
        self._on_batch(step)


class MnistKerasRecipe:
    """Trains :func:`build_mnist_model` with Keras; exports SavedModel, ONNX and ``.keras``."""

    name = "mnist"
    framework = "tensorflow"

    def __init__(self) -> None:
        self._model: Any = None
        self._params = TrainParams()
        self._n_features = 784
        self._n_classes = 10

    @property
    def model(self) -> Any:
        """The Keras model (after :meth:`build`)."""
        if self._model is None:
            raise RuntimeError("call build() before using the model")
        return self._model

    def build(self, dataset: Dataset, params: TrainParams) -> None:
        # Thread pools can only be sized before TF's runtime starts; later calls keep TF's.
        threads = params.threads or max(1, min(4, os.cpu_count() or 1))
        with contextlib.suppress(RuntimeError):
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        # Seeds Python, numpy and TF: initialisation, dropout and fit()'s shuffling.
        keras.utils.set_random_seed(params.seed)
        self._params = params
        self._n_features = dataset.n_features
        self._n_classes = dataset.n_classes
        self._model = build_mnist_model(self._n_features, 128, self._n_classes)
        self._model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=params.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )

    def fit_epoch(
        self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], on_batch: BatchCallback
    ) -> tuple[float, float]:
        progress = _Progress(len(x), self._params.batch_size, on_batch)
        history = self.model.fit(
            _flat(x),
            np.asarray(y, dtype=np.int64),
            batch_size=self._params.batch_size,
            epochs=1,
            shuffle=True,
            verbose=0,
            callbacks=[progress],
        )
        return float(history.history["loss"][-1]), float(history.history["accuracy"][-1])

    def evaluate(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[float, float]:
        loss, accuracy = self.model.evaluate(
            _flat(x), np.asarray(y, dtype=np.int64), batch_size=_EVAL_BATCH, verbose=0
        )
        return float(loss), float(accuracy)

    def predict_proba(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        probabilities = self.model.predict(_flat(x), batch_size=_EVAL_BATCH, verbose=0)
        return np.asarray(probabilities, dtype=np.float32)

    def signature(self) -> Signature:
        return image_classifier_signature(self._n_features, self._n_classes)

    def export(self, directory: Path) -> dict[str, str]:
        from modelship.training.keras_export import export_keras

        return export_keras(self.model, directory)

    def framework_versions(self) -> dict[str, str]:
        from modelship.training.keras_export import keras_framework_versions

        return keras_framework_versions()
