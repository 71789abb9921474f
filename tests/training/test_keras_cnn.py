"""The Keras image recipe: it learns the synthetic set, and its exports keep the torch contract."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from rich.console import Console

pytest.importorskip("tensorflow")

import keras
import tensorflow as tf

from modelship.client import Client
from modelship.manifest import Manifest
from modelship.runtimes.tensorflow import load_savedmodel
from modelship.training.image_figures import confusion_matrix
from modelship.training.images import ImageTrainResult, train_images
from tests.conftest import IMAGE_TEST_SIZE, ImageModel, RunningServer, start_server, stop_server

pytestmark = pytest.mark.tensorflow


@dataclass
class KerasImageModel:
    base_path: Path
    result: ImageTrainResult


@pytest.fixture(scope="module")
def keras_images(
    image_model: ImageModel, tmp_path_factory: pytest.TempPathFactory
) -> KerasImageModel:
    # The torch fixture's folder: the same images, split and size, so the contracts compare.
    output = tmp_path_factory.mktemp("keras-images")
    result = train_images(
        image_model.data,
        name="shapes",
        framework="tensorflow",
        epochs=8,
        image_size=IMAGE_TEST_SIZE,
        output=output,
        version=1,
        console=Console(quiet=True),
    )
    return KerasImageModel(output / "shapes", result)


@pytest.fixture(scope="module")
def keras_image_server(
    keras_images: KerasImageModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    server = start_server(
        ["--model_name", "shapes", "--model_base_path", str(keras_images.base_path)],
        "shapes",
        tmp_path_factory.mktemp("keras-image-server"),
    )
    yield server
    stop_server(server)


def test_learns_the_synthetic_shapes(keras_images: KerasImageModel) -> None:
    result = keras_images.result
    assert result.val_accuracy >= 0.9
    history = result.manifest.metrics["history"]
    assert len(history) == 8
    assert history[-1]["loss"] < history[0]["loss"]
    assert np.trace(result.confusion) / result.confusion.sum() == pytest.approx(
        result.val_accuracy, abs=1e-6
    )


def test_same_contract_as_the_torch_recipe(
    keras_images: KerasImageModel, image_model: ImageModel
) -> None:
    keras_manifest = Manifest.read(keras_images.base_path / "1")
    torch_manifest = Manifest.read(image_model.base_path / "1")
    assert keras_manifest.framework == "tensorflow"
    assert keras_manifest.signatures == torch_manifest.signatures
    assert keras_manifest.labels == torch_manifest.labels
    assert keras_manifest.preprocessing == torch_manifest.preprocessing
    assert keras_manifest.data["fingerprint"] == torch_manifest.data["fingerprint"]
    assert keras_manifest.artifacts == {
        "savedmodel": "saved_model.pb",
        "onnx": "model.onnx",
        "keras": "model.keras",
    }
    assert {"tensorflow", "keras", "tf2onnx"} <= set(keras_manifest.framework_versions)
    for picture in ("training_curve.png", "confusion_matrix.png", "predictions.png"):
        assert (keras_images.base_path / "1" / picture).read_bytes()[:4] == b"\x89PNG"


def test_savedmodel_onnx_and_keras_file_agree(keras_images: KerasImageModel) -> None:
    result = keras_images.result
    version = keras_images.base_path / "1"
    x = result.dataset.preprocessing.to_tensor(result.dataset.x_val)
    reloaded = keras.models.load_model(version / "model.keras")
    expected = np.asarray(reloaded.predict(x, verbose=0))
    # The trained network's own validation predictions are what the export must reproduce.
    predicted = expected.argmax(axis=1)
    assert np.array_equal(confusion_matrix(result.dataset.y_val, predicted, 4), result.confusion)

    serving = tf.saved_model.load(str(version)).signatures["serving_default"]
    from_savedmodel = serving(images=tf.constant(x))["probabilities"].numpy()
    np.testing.assert_allclose(from_savedmodel, expected, atol=1e-5)

    session = ort.InferenceSession(str(version / "model.onnx"))
    (from_onnx,) = session.run(["probabilities"], {"images": x})
    np.testing.assert_allclose(from_onnx, expected, atol=1e-4)

    runtime = load_savedmodel(version)
    try:
        served, recorded = runtime.signatures["serving_default"], result.manifest.default_signature
        assert (served.inputs, served.outputs) == (recorded.inputs, recorded.outputs)
    finally:
        runtime.close()


def test_served_model_classifies_b64_images(
    keras_images: KerasImageModel, keras_image_server: RunningServer
) -> None:
    dataset = keras_images.result.dataset
    probabilities = keras.models.load_model(keras_images.base_path / "1" / "model.keras").predict(
        dataset.preprocessing.to_tensor(dataset.x_val), verbose=0
    )
    # The files as they are on disk (JPEG and PNG): the server decodes and prepares them.
    with Client(keras_image_server.url) as client:
        answers = client.classify_images("shapes", list(dataset.files_val))
    assert [name for name, _ in answers] == [
        dataset.labels[i] for i in np.asarray(probabilities).argmax(axis=1)
    ]
    confidences = np.asarray([confidence for _, confidence in answers])
    np.testing.assert_allclose(confidences, np.asarray(probabilities).max(axis=1), atol=1e-4)
