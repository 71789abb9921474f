"""The image classifier recipe: it learns the synthetic set and exports what serving needs."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from modelship.data.images import ImagePreprocessing
from modelship.manifest import Manifest
from modelship.training.image_figures import confusion_matrix
from modelship.training.images import CONFUSION_NAME, GRID_NAME, image_fingerprint, train_images
from tests.conftest import IMAGE_TEST_SIZE, ImageModel


def test_learns_the_synthetic_shapes(image_model: ImageModel) -> None:
    result = image_model.result
    assert result.val_accuracy >= 0.9  # type: ignore[attr-defined]
    matrix = result.confusion  # type: ignore[attr-defined]
    assert matrix.sum() == len(result.dataset.y_val)  # type: ignore[attr-defined]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(result.val_accuracy, abs=1e-6)  # type: ignore[attr-defined]


def test_manifest_records_labels_preprocessing_and_signature(image_model: ImageModel) -> None:
    manifest = Manifest.read(image_model.base_path / "1")
    assert manifest.labels == ["blue_triangle", "green_square", "orange_cross", "red_circle"]
    spec = ImagePreprocessing.from_json(manifest.preprocessing)
    assert spec == ImagePreprocessing(size=(IMAGE_TEST_SIZE, IMAGE_TEST_SIZE))
    assert manifest.preprocessing["layout"] == "NHWC"
    signature = manifest.default_signature
    assert signature.inputs["images"].shape == (-1, IMAGE_TEST_SIZE, IMAGE_TEST_SIZE, 3)
    assert signature.outputs["probabilities"].shape == (-1, 4)
    assert manifest.data["fingerprint"] == image_fingerprint(image_model.result.dataset)  # type: ignore[attr-defined]
    assert len(manifest.metrics["history"]) == 8
    assert manifest.metrics["confusion_matrix"] == image_model.result.confusion.tolist()  # type: ignore[attr-defined]


def test_pictures_are_pngs_in_the_version(image_model: ImageModel) -> None:
    for name in (CONFUSION_NAME, GRID_NAME, "training_curve.png"):
        with Image.open(image_model.base_path / "1" / name) as picture:
            assert picture.format == "PNG"
            assert picture.size[0] > 200


def test_exported_onnx_matches_the_trained_network(image_model: ImageModel) -> None:
    dataset = image_model.result.dataset  # type: ignore[attr-defined]
    session = ort.InferenceSession(str(image_model.base_path / "1" / "model.onnx"))
    x = dataset.preprocessing.to_tensor(dataset.x_val)
    (probs,) = session.run(None, {"images": x})
    assert probs.shape == (len(x), 4)
    predicted = probs.argmax(axis=1)
    matrix = confusion_matrix(dataset.y_val, predicted, 4)
    np.testing.assert_array_equal(matrix, image_model.result.confusion)  # type: ignore[attr-defined]


def test_the_pytorch_program_serves_what_onnx_serves(image_model: ImageModel) -> None:
    from modelship.runtimes import RuntimeOptions, load_runtime

    version = image_model.base_path / "1"
    assert Manifest.read(version).artifacts == {"onnx": "model.onnx", "torch": "model.pt2"}
    dataset = image_model.result.dataset  # type: ignore[attr-defined]
    x = dataset.preprocessing.to_tensor(dataset.x_val)
    (expected,) = ort.InferenceSession(str(version / "model.onnx")).run(None, {"images": x})
    runtime = load_runtime(version, "torch", RuntimeOptions(device="cpu"))
    try:
        served = runtime.predict("serving_default", {"images": x})["probabilities"]
    finally:
        runtime.close()
    np.testing.assert_allclose(served, expected, atol=1e-5)


def test_unknown_framework_is_refused_before_reading_data(tmp_path: object) -> None:
    from modelship.errors import BadConfig

    with pytest.raises(BadConfig, match="no image recipe for framework 'jax'"):
        train_images(None, framework="jax")
