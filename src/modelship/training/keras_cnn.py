"""The image classifier's recipe in Keras: the PyTorch CNN's architecture, schedule and inputs.

Both frameworks export a model that takes the same tensor, ``images`` float32
``[-1, H, W, 3]`` RGB scaled to ``[0, 1]``, and returns ``probabilities``, so a client (and
the server's b64 preprocessing) never cares which one trained it. Channel normalisation is a
layer inside the model, as it is a buffer inside the PyTorch network.

The version holds a TF Serving SavedModel, ``model.onnx`` (what modelship serves) and
``model.keras``, written by the same code as the Keras MNIST recipe.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from modelship.data.images import ImageDataset, augment
from modelship.runtimes.tensorflow import import_tensorflow
from modelship.training.image_recipe import ImageRecipeBase
from modelship.training.recipe import INPUT_NAME, OUTPUT_NAME

__all__ = ["ImageKerasRecipe", "build_image_cnn"]

_EVAL_BATCH = 64
# PyTorch's BatchNorm momentum 0.1 (Keras counts the other way): Keras' default 0.99 would leave
# the running statistics near their initial values after the few hundred steps this trains for,
# and the model would fail in inference mode while looking fine in training.
_BN_MOMENTUM = 0.9

tf = import_tensorflow()
import keras  # noqa: E402  (after TF, whose import sets the log level and picks the backend)


def _conv_bn_relu(x: Any, filters: int, strides: int, name: str) -> Any:
    x = keras.layers.Conv2D(
        filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
    )(x)
    x = keras.layers.BatchNormalization(momentum=_BN_MOMENTUM, epsilon=1e-5, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def build_image_cnn(
    input_shape: tuple[int, int, int],
    n_classes: int,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
) -> Any:
    """Stride-2 stem, three conv blocks (32-64-64) with max pooling, global average pooling.

    The same network as :class:`modelship.training.torch_cnn.ImageCNN`; softmax is the last
    layer here because Keras' loss takes probabilities.
    """
    inputs = keras.Input(shape=input_shape, name=INPUT_NAME, dtype="float32")
    # (x - mean) / std as one affine layer: its constants stay constants in the ONNX graph,
    # where tf2onnx turns a Normalization layer's mean and variance into extra graph inputs.
    x = keras.layers.Rescaling(
        scale=[1 / s for s in std],
        offset=[-m / s for m, s in zip(mean, std, strict=True)],
        name="normalize",
    )(inputs)
    x = _conv_bn_relu(x, 16, 2, "stem")
    for i, filters in enumerate((32, 64, 64), start=1):
        x = _conv_bn_relu(x, filters, 1, f"block{i}")
        x = keras.layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    x = keras.layers.Dropout(0.2, name="dropout")(x)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="image_cnn")


class ImageKerasRecipe(ImageRecipeBase):
    """Trains :func:`build_image_cnn` with Adam, a cosine schedule and light augmentation."""

    framework = "tensorflow"

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self._model: Any = None

    @property
    def model(self) -> Any:
        """The Keras model (after :meth:`build`)."""
        if self._model is None:
            raise RuntimeError("call build() before using the model")
        return self._model

    def build(self, dataset: ImageDataset, epochs: int = 8) -> None:
        """Create and compile the network for ``dataset``'s classes and preprocessing, seeded."""
        threads = self._adopt(dataset)
        # Thread pools can only be sized before TF's runtime starts; later calls keep TF's.
        with contextlib.suppress(RuntimeError):
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        keras.utils.set_random_seed(self.seed)
        self._model = build_image_cnn(
            self._spec.input_shape, dataset.n_classes, self._spec.mean, self._spec.std
        )
        steps_per_epoch = max(1, len(dataset.x_train) // self.batch_size)
        schedule = keras.optimizers.schedules.CosineDecay(
            self.learning_rate, decay_steps=max(1, epochs) * steps_per_epoch, alpha=1 / 50
        )
        self._model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=schedule),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )

    def fit_epoch(
        self,
        x: np.ndarray[Any, Any],
        y: np.ndarray[Any, Any],
        on_batch: Callable[[int], None] = lambda n: None,
    ) -> tuple[float, float]:
        """One pass over ``x`` (uint8 NHWC); mean training loss and accuracy."""
        model = self.model
        order = self._rng.permutation(len(x))
        if len(order) % self.batch_size == 1:  # BatchNorm cannot train on a single example
            order = order[:-1]
        pixels = augment(x[order], self._rng) if self.augmentation else x[order]
        progress = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: on_batch(
                min(self.batch_size, len(order) - batch * self.batch_size)
            )
        )
        history = model.fit(
            self._scaled(pixels),
            np.asarray(y, dtype=np.int64)[order],
            batch_size=self.batch_size,
            epochs=1,
            shuffle=False,  # already shuffled by the seeded generator above
            verbose=0,
            callbacks=[progress],
        )
        return float(history.history["loss"][-1]), float(history.history["accuracy"][-1])

    def evaluate(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[float, float]:
        """Loss and accuracy in inference mode."""
        loss, accuracy = self.model.evaluate(
            self._scaled(x), np.asarray(y, dtype=np.int64), batch_size=_EVAL_BATCH, verbose=0
        )
        return float(loss), float(accuracy)

    def predict_proba(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Class probabilities for uint8 NHWC images."""
        probabilities = self.model.predict(self._scaled(x), batch_size=_EVAL_BATCH, verbose=0)
        return np.asarray(probabilities, dtype=np.float32)

    def export(self, directory: Path) -> dict[str, str]:
        """SavedModel in TF Serving's layout, ``model.onnx`` and ``model.keras``."""
        from modelship.training.keras_export import export_keras

        return export_keras(self.model, directory)

    def framework_versions(self) -> dict[str, str]:
        from modelship.training.keras_export import keras_framework_versions

        return keras_framework_versions()
