"""``modelship convert``: Keras, PyTorch, ONNX and SavedModel files become checked versions;
other files are refused, and an artifact that fails its check is never published."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from typer.testing import CliRunner

pytest.importorskip("tensorflow")

import h5py
import keras
import tensorflow as tf

from modelship.cli import _register, app
from modelship.manifest import Manifest
from tests.fixtures.trained_keras import TrainedKeras, trained_keras

pytestmark = pytest.mark.tensorflow

runner = CliRunner()


@pytest.fixture(scope="module", autouse=True)
def _commands() -> None:
    _register()


def _convert(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["convert", *args])
    return result.exit_code, result.output


def _seed_model() -> keras.Model:
    """The seed's Keras model, layer for layer (Flatten of 28x28 first), untrained."""
    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_h5_of_the_seeds_model_converts(tmp_path: Path) -> None:
    model = _seed_model()
    source = tmp_path / "model.h5"
    model.save(source)
    output = tmp_path / "models"
    code, out = _convert(str(source), "--name", "classifier", "--output", str(output))
    assert code == 0, out
    (version,) = list((output / "classifier").iterdir())
    assert version.name.isdigit()
    assert {"saved_model.pb", "variables", "model.onnx", "modelship.json"} <= {
        p.name for p in version.iterdir()
    }
    manifest = Manifest.read(version)
    assert manifest.framework == "tensorflow"
    assert manifest.parameters["converted_from"] == "model.h5"
    (input_name,) = manifest.default_signature.inputs
    assert manifest.default_signature.inputs[input_name].shape == (-1, 28, 28)

    x = np.random.default_rng(0).random((6, 28, 28), dtype=np.float32)
    expected = model.predict(x, verbose=0)
    serving = tf.saved_model.load(str(version)).signatures["serving_default"]
    (output_name,) = manifest.default_signature.outputs
    got = serving(**{input_name: tf.constant(x)})[output_name].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    session = ort.InferenceSession(str(version / "model.onnx"))
    (onnx_got,) = session.run([output_name], {input_name: x})
    np.testing.assert_allclose(onnx_got, expected, atol=1e-5)


def test_keras_file_of_a_trained_model_converts_with_explicit_version(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    trained: TrainedKeras = trained_keras(tmp_path_factory)
    source = tmp_path / "mnist.keras"
    trained.recipe.model.save(source)
    output = tmp_path / "models"
    code, out = _convert(str(source), "--name", "digits", "--output", str(output), "--version", "4")
    assert code == 0, out
    assert "images float32[-1, 784] -> probabilities float32[-1, 10]" in out
    version = output / "digits" / "4"
    manifest = Manifest.read(version)
    assert manifest.signatures == trained.result.manifest.signatures
    x = trained.result.x_test[:16]
    serving = tf.saved_model.load(str(version)).signatures["serving_default"]
    got = serving(images=tf.constant(x))["probabilities"].numpy()
    np.testing.assert_allclose(got, trained.recipe.predict_proba(x), atol=1e-5)
    # A published version is never overwritten.
    code, out = _convert(str(source), "--name", "digits", "--output", str(output), "--version", "4")
    assert code == 1
    assert "already exists" in out


def _bogus_files(tmp: Path) -> list[Path]:
    garbage = tmp / "garbage.h5"
    garbage.write_bytes(b"not an HDF5 file at all" * 10)
    plain = tmp / "plain.h5"
    with h5py.File(plain, "w") as handle:
        handle.create_dataset("weights", data=np.arange(10))
    return [garbage, plain]


def test_an_h5_that_is_not_a_keras_model_fails_cleanly(tmp_path: Path) -> None:
    output = tmp_path / "models"
    for source in _bogus_files(tmp_path):
        code, out = _convert(str(source), "--name", "bogus", "--output", str(output))
        assert code == 1, out
        assert "is not a Keras model file" in " ".join(out.split())
        assert "Traceback" not in out
    # Nothing written: no version, no half-written temporary directory.
    assert not (output / "bogus").exists() or not any((output / "bogus").iterdir())


def test_other_suffixes_and_bad_names_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "model.txt"
    other.write_bytes(b"x")
    code, out = _convert(str(other), "--name", "m", "--output", str(tmp_path))
    assert code == 1
    assert ".keras" in out
    assert ".pt2" in out
    not_torch = tmp_path / "model.pt"
    not_torch.write_bytes(b"x")
    code, out = _convert(str(not_torch), "--name", "m", "--output", str(tmp_path))
    assert code == 1
    assert "is not a PyTorch model file" in " ".join(out.split())
    code, out = _convert(str(tmp_path / "missing.h5"), "--name", "m", "--output", str(tmp_path))
    assert code == 1
    assert "does not exist" in out
    code, out = _convert(str(other), "--name", "../escape", "--output", str(tmp_path))
    assert code == 1
    assert "model name" in out


def test_a_string_lookup_model_converts_without_a_broken_onnx(tmp_path: Path) -> None:
    keras.utils.set_random_seed(1)
    text = keras.Input(shape=(1,), dtype="string", name="text")
    ids = keras.layers.StringLookup(vocabulary=["a", "b"])(text)
    scores = keras.layers.Dense(2, name="scores")(
        keras.layers.Flatten()(keras.layers.Embedding(4, 2)(ids))
    )
    source = tmp_path / "lookup.keras"
    keras.Model(text, scores).save(source)
    output = tmp_path / "models"
    code, out = _convert(str(source), "--name", "lookup", "--output", str(output))
    assert code == 3, out  # published, without model.onnx
    flat = " ".join(out.split())
    assert "warning: model.onnx left out" in flat
    assert "checked saved_model.pb with tensorflow" in flat
    assert "Traceback" not in out
    (version,) = (output / "lookup").iterdir()
    assert not (version / "model.onnx").exists()
    assert "onnx" not in Manifest.read(version).artifacts
    # What the server would load: the SavedModel, which answers strings.
    from modelship.runtimes import load_runtime

    runtime = load_runtime(version)
    assert runtime.name == "tensorflow"
    answer = runtime.predict("serving_default", {"text": np.array([["a"], ["zzz"]], dtype=object)})
    assert answer["scores"].shape == (2, 2)
    runtime.close()
