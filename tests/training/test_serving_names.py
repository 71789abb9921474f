"""Serving names of a trained version: ``modelship train --signature-name/--input-name/
--output-name`` as TF Serving's ``mnist_client.py`` needs them (``predict_images``, ``images``,
``scores``), through the ONNX export, the manifest and a SavedModel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import numpy as np
import pytest

from modelship.errors import BadConfig
from modelship.manifest import Manifest
from modelship.runtimes import load_runtime
from modelship.training.serving_names import ServingNames
from tests.cli.test_train_cmd import _tiny_mnist
from tests.conftest import start_server, stop_server

MODELSHIP = str(Path(sys.executable).parent / "modelship")
MNIST_CLIENT_NAMES = ServingNames("predict_images", "images", "scores")


@pytest.mark.parametrize(
    ("names", "words"),
    [
        (("bad name", "images", "scores"), "signature name 'bad name'"),
        (("predict_images", "", "scores"), "input name ''"),
        (("predict_images", "images", "scores:0"), "output name 'scores:0'"),
        (("predict_images", "x", "x"), "both named 'x'"),
    ],
)
def test_names_are_checked(names: tuple[str, str, str], words: str) -> None:
    with pytest.raises(BadConfig, match=words):
        ServingNames(*names)
    assert ServingNames().default
    assert not MNIST_CLIENT_NAMES.default


def test_train_with_tf_servings_names_then_call_it_as_mnist_client_does(tmp_path: Path) -> None:
    data = tmp_path / "mnist"
    data.mkdir()
    _tiny_mnist(data)
    models = tmp_path / "models"
    trained = subprocess.run(
        [
            *(MODELSHIP, "train", "mnist", "--framework", "torch", "--epochs", "1"),
            *("--data", str(data), "--output", str(models), "--version", "1"),
            *("--signature-name", "predict_images", "--output-name", "scores"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert trained.returncode == 0, trained.stdout + trained.stderr
    version = models / "mnist" / "1"
    manifest = Manifest.read(version)
    assert list(manifest.signatures) == ["predict_images"]
    signature = manifest.signatures["predict_images"]
    assert (list(signature.inputs), list(signature.outputs)) == (["images"], ["scores"])
    runtime = load_runtime(version, "onnx")
    try:
        assert set(runtime.signatures) == {"predict_images"}
    finally:
        runtime.close()

    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    server = start_server(
        ["--model_name", "mnist", "--model_base_path", str(models / "mnist")], "mnist", tmp_path
    )
    try:
        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "mnist"
            request.model_spec.signature_name = "predict_images"
            image = np.random.default_rng(0).random(784, dtype=np.float32)
            request.inputs["images"].dtype = 1  # DT_FLOAT
            request.inputs["images"].tensor_shape.dim.add(size=1)
            request.inputs["images"].tensor_shape.dim.add(size=784)
            request.inputs["images"].float_val.extend(image.tolist())
            result = stub.Predict(request, 10.0)
        scores = np.array(result.outputs["scores"].float_val)
        assert scores.shape == (10,)
        assert scores.sum() == pytest.approx(1.0, abs=1e-5)
    finally:
        stop_server(server)


def test_a_savedmodel_is_saved_again_under_the_names(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from modelship.runtimes.tensorflow import load_savedmodel
    from modelship.training.keras_export import export_savedmodel
    from modelship.training.keras_mlp import build_mnist_model

    model = build_mnist_model(n_features=6, hidden=4, n_classes=3)
    x = np.random.default_rng(1).random((2, 6), dtype=np.float32)
    expected = model(x, training=False).numpy()
    export = MNIST_CLIENT_NAMES.export_with(
        lambda directory: {"savedmodel": export_savedmodel(model, directory).name}
    )
    export(tmp_path)
    runtime = load_savedmodel(tmp_path)
    try:
        signature = runtime.signatures["predict_images"]
        assert (list(signature.inputs), list(signature.outputs)) == (["images"], ["scores"])
        got = runtime.predict("predict_images", {"images": x})["scores"]
        np.testing.assert_allclose(got, expected, rtol=1e-5)
    finally:
        runtime.close()
    assert not (tmp_path / ".renamed").exists()
