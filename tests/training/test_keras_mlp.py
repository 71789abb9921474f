"""The Keras recipe: accuracy, the artifacts it publishes, and their agreement with Keras."""

from __future__ import annotations

import io

import numpy as np
import onnxruntime as ort
import pytest
from rich.console import Console

pytest.importorskip("tensorflow")

import tensorflow as tf

from modelship.data.fingerprint import dataset_fingerprint
from modelship.errors import BadConfig
from modelship.runtimes import detect_runtime
from modelship.runtimes.tensorflow import load_savedmodel
from modelship.training import train_model
from modelship.training.recipe import image_classifier_signature
from tests.fixtures.trained_keras import EPOCHS, TrainedKeras, trained_keras

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedKeras:
    return trained_keras(tmp_path_factory)


def test_accuracy_on_bundled_data(trained: TrainedKeras) -> None:
    assert trained.result.test_accuracy >= 0.94
    history = trained.result.manifest.metrics["history"]
    assert [h["epoch"] for h in history] == list(range(1, EPOCHS + 1))
    assert history[-1]["loss"] < history[0]["loss"]


def test_manifest_matches_the_torch_recipes_contract(trained: TrainedKeras) -> None:
    manifest = trained.result.manifest
    path = trained.result.version_path
    assert manifest.framework == "tensorflow"
    # Same served signature as the PyTorch recipe, so clients need not know the framework.
    assert manifest.signatures["serving_default"] == image_classifier_signature(784, 10)
    assert manifest.artifacts == {
        "savedmodel": "saved_model.pb",
        "onnx": "model.onnx",
        "keras": "model.keras",
    }
    for name in ("saved_model.pb", "variables", "model.onnx", "model.keras", "modelship.json"):
        assert (path / name).exists(), name
    assert (path / "training_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert manifest.data["fingerprint"] == dataset_fingerprint(trained.result.dataset)
    assert {"tensorflow", "keras", "tf2onnx", "onnx"} <= set(manifest.framework_versions)
    assert manifest.parameters["epochs"] == EPOCHS
    assert detect_runtime(path) == "onnx"


def test_savedmodel_serving_signature_gives_keras_probabilities(trained: TrainedKeras) -> None:
    x = trained.result.x_test[:64]
    keras_probabilities = trained.recipe.predict_proba(x)
    loaded = tf.saved_model.load(str(trained.result.version_path))
    serving = loaded.signatures["serving_default"]
    got = serving(images=tf.constant(x))["probabilities"].numpy()
    np.testing.assert_allclose(got, keras_probabilities, atol=1e-5)
    # Dropout is off in the export: the same input gives the same answer twice.
    np.testing.assert_array_equal(got, serving(images=tf.constant(x))["probabilities"].numpy())


def test_onnx_agrees_with_keras(trained: TrainedKeras) -> None:
    x = trained.result.x_test[:64]
    session = ort.InferenceSession(str(trained.result.version_path / "model.onnx"))
    assert [i.name for i in session.get_inputs()] == ["images"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    (got,) = session.run(["probabilities"], {"images": x})
    np.testing.assert_allclose(got, trained.recipe.predict_proba(x), atol=1e-5)


def test_tensorflow_runtime_reads_the_manifests_signature(trained: TrainedKeras) -> None:
    runtime = load_savedmodel(trained.result.version_path)
    try:
        signature = runtime.signatures["serving_default"]
        assert signature.inputs == image_classifier_signature(784, 10).inputs
        assert signature.outputs == image_classifier_signature(784, 10).outputs
        x = trained.result.x_test[:8]
        got = runtime.predict("serving_default", {"images": x})["probabilities"]
        np.testing.assert_allclose(got, trained.recipe.predict_proba(x), atol=1e-5)
    finally:
        runtime.close()


def test_train_model_takes_the_framework(
    trained: TrainedKeras, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The entry point the CLI and the demo call; an unknown framework is refused by name.
    with pytest.raises(BadConfig, match="tensorflow"):
        train_model(
            recipe="mnist",
            framework="jax",
            epochs=1,
            output=tmp_path_factory.mktemp("models"),
            console=Console(file=io.StringIO()),
        )
    result = train_model(
        recipe="mnist",
        framework="tensorflow",
        epochs=1,
        output=tmp_path_factory.mktemp("models"),
        version=3,
        console=Console(file=io.StringIO()),
    )
    assert result.manifest.framework == "tensorflow"
    assert result.version_path.name == "3"
    assert result.manifest.data["fingerprint"] == trained.result.manifest.data["fingerprint"]
