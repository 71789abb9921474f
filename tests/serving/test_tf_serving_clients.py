"""TF Serving's own example clients' calls and its own test models (built as its repository
builds them, TF1 graphs), against a real modelship server: ``tensorflow-serving-api``'s gRPC
stub as ``mnist_client.py`` uses it, and the REST calls of TF Serving's documentation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest

from tests.conftest import RunningServer, start_server, stop_server

tf = pytest.importorskip("tensorflow")
classification_pb2 = pytest.importorskip("tensorflow_serving.apis.classification_pb2")
predict_pb2 = pytest.importorskip("tensorflow_serving.apis.predict_pb2")
regression_pb2 = pytest.importorskip("tensorflow_serving.apis.regression_pb2")
prediction_service_pb2_grpc = pytest.importorskip(
    "tensorflow_serving.apis.prediction_service_pb2_grpc"
)


@pytest.fixture(scope="session")
def tf_serving_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TF Serving's MNIST export (version 1) and half_plus_three (directory ``00000123``)."""
    from tests.fixtures.tf_serving_models import write_half_plus_three, write_mnist_saved_model

    root = tmp_path_factory.mktemp("tf-serving-models")
    write_mnist_saved_model(root / "mnist" / "1")
    write_half_plus_three(root / "half_plus_three" / "00000123")
    return root


@pytest.fixture(scope="module")
def server(
    tf_serving_models: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("tf-serving-clients")
    config = tmp / "models.config"
    config.write_text(
        "model_config_list {\n"
        f"  config {{ name: 'mnist' base_path: '{tf_serving_models / 'mnist'}' "
        "model_platform: 'tensorflow' }\n"
        f"  config {{ name: 'half_plus_three' base_path: '{tf_serving_models / 'half_plus_three'}' "
        "model_platform: 'tensorflow' }\n"
        "}\n"
    )
    running = start_server(
        ["--model_config_file", str(config)], "half_plus_three", tmp, timeout=120
    )
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def stub(server: RunningServer) -> Iterator[object]:
    with grpc.insecure_channel(server.grpc_target) as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


def _image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(784, dtype=np.float32)


def _example(**features: list[float]) -> object:
    example = tf.train.Example()
    for name, values in features.items():
        example.features.feature[name].float_list.value.extend(values)
    return example


def test_mnist_client_predict_images(stub: object) -> None:
    # mnist_client.py: signature predict_images, input images [1, 784], output scores.
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "mnist"
    request.model_spec.signature_name = "predict_images"
    image = _image()
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(image, shape=[1, image.size]))
    result = stub.Predict(request, 10.0)  # type: ignore[attr-defined]
    scores = np.array(result.outputs["scores"].float_val)
    assert scores.shape == (10,)
    assert scores.sum() == pytest.approx(1.0, abs=1e-5)


def test_classify_serializes_examples_into_the_signature(
    stub: object, server: RunningServer
) -> None:
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "mnist"
    request.input.example_list.examples.extend([_example(x=_image(1).tolist())])
    result = stub.Classify(request, 10.0)  # type: ignore[attr-defined]
    (classes,) = result.result.classifications
    labels = [c.label for c in classes.classes]
    scores = [c.score for c in classes.classes]
    assert sorted(labels) == [str(i) for i in range(10)]
    assert scores == sorted(scores, reverse=True)
    # The same through REST, and the same scores as predict_images gives.
    answer = httpx.post(
        f"{server.url}/v1/models/mnist:classify", json={"examples": [{"x": _image(1).tolist()}]}
    )
    assert answer.status_code == 200, answer.text
    rest = answer.json()["results"][0]
    assert [label for label, _ in rest] == labels
    np.testing.assert_allclose([score for _, score in rest], scores, rtol=1e-5)


def test_half_plus_three_rest_examples_of_the_documentation(server: RunningServer) -> None:
    url = f"{server.url}/v1/models/half_plus_three"
    predict = httpx.post(f"{url}:predict", json={"instances": [1.0, 2.0, 5.0]})
    assert predict.json() == {"predictions": [3.5, 4.0, 5.5]}
    body = {"signature_name": "tensorflow/serving/regress", "examples": [{"x": 1.0}, {"x": 2.0}]}
    regress = httpx.post(f"{url}:regress", json=body)
    assert regress.json() == {"results": [3.5, 4.0]}
    body["signature_name"] = "tensorflow/serving/classify"
    classify = httpx.post(f"{url}:classify", json=body)
    assert classify.json() == {"results": [[["", 3.5]], [["", 4.0]]]}
    status = httpx.get(url).json()["model_version_status"]
    assert [(s["version"], s["state"]) for s in status] == [("123", "AVAILABLE")]


def test_half_plus_three_regress_over_grpc_with_context(stub: object) -> None:
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "half_plus_three"
    request.model_spec.signature_name = "tensorflow/serving/regress"
    listed = request.input.example_list_with_context
    listed.context.CopyFrom(_example(x=[100.0]))
    listed.examples.extend([_example(x=[1.0]), _example()])  # the second takes the context's x
    result = stub.Regress(request, 10.0)  # type: ignore[attr-defined]
    assert [r.value for r in result.result.regressions] == [3.5, 53.0]


def test_unknown_rank_is_reported_and_any_rank_reaches_the_graph(server: RunningServer) -> None:
    metadata = httpx.get(f"{server.url}/v1/models/mnist/metadata").json()
    signatures = metadata["metadata"]["signature_def"]["signature_def"]
    shape = signatures["serving_default"]["inputs"]["inputs"]["tensor_shape"]
    assert shape == {"dim": [], "unknown_rank": True}
    # The graph itself refuses a rank it cannot take: a 400 naming the signature.
    url = f"{server.url}/v1/models/mnist:predict"
    body = {"signature_name": "predict_images", "instances": [[[0.0] * 28] * 28]}
    refused = httpx.post(url, json=body)
    assert refused.status_code == 400, refused.text
    assert "predict_images" in refused.json()["error"]
    ragged = {"signature_name": "predict_images", "instances": [[0.0] * 784, [[0.0] * 784]]}
    assert httpx.post(url, json=ragged).status_code == 400
    fine = httpx.post(url, json={"signature_name": "predict_images", "instances": [[0.0] * 784]})
    assert fine.status_code == 200, fine.text


def test_the_wrong_method_for_a_signature_is_a_400(server: RunningServer) -> None:
    answer = httpx.post(
        f"{server.url}/v1/models/half_plus_three:regress",
        json={"signature_name": "tensorflow/serving/classify", "examples": [{"x": 1.0}]},
    )
    assert answer.status_code == 400
    assert "tensorflow/serving/regress" in answer.json()["error"]
    bad = httpx.post(
        f"{server.url}/v1/models/half_plus_three:regress",
        json={"signature_name": "tensorflow/serving/regress", "examples": [{"y": "text"}]},
    )
    assert bad.status_code == 400, bad.text
