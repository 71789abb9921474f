"""TF Serving's gRPC API, called with ``tensorflow-serving-api``'s own stubs, unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
apis = pytest.importorskip("tensorflow_serving.apis")

from tensorflow_serving.apis import (  # noqa: E402
    classification_pb2,
    get_model_metadata_pb2,
    get_model_status_pb2,
    inference_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    regression_pb2,
)

from tests.conftest import RunningServer, ToyModel, start_server, stop_server  # noqa: E402
from tests.fixtures.toy_models import reference_softmax_linear  # noqa: E402

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def stub(grpc_channel: grpc.Channel) -> Any:
    return prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)


@pytest.fixture(scope="module")
def zoo_channel(zoo: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(zoo) as channel:
        yield channel


@pytest.fixture(scope="module")
def zoo_stub(zoo_channel: grpc.Channel) -> Any:
    return prediction_service_pb2_grpc.PredictionServiceStub(zoo_channel)


def predict_request(model: str, **inputs: np.ndarray) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def rpc_error(call: Any, request: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call(request, timeout=10)
    return info.value


def test_predict_matches_reference(stub: Any, toy_model: ToyModel) -> None:
    x = np.random.default_rng(2).random((4, 784), dtype=np.float32)
    response = stub.Predict(predict_request("toy", images=x), timeout=10)
    got = tf.make_ndarray(response.outputs["probabilities"])
    np.testing.assert_allclose(
        got, reference_softmax_linear(x, toy_model.weight, toy_model.bias), atol=1e-5
    )
    assert response.model_spec.name == "toy"
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"
    # As TF Serving answers: typed fields, which clients often read directly.
    assert len(response.outputs["probabilities"].float_val) == 40


def test_predict_typed_fields_and_images(stub: Any, toy_model: ToyModel) -> None:
    x = np.random.default_rng(3).random((1, 28, 28), dtype=np.float32)
    request = predict_request("toy")
    request.inputs["images"].dtype = tf.float32.as_datatype_enum
    for dim in x.shape:
        request.inputs["images"].tensor_shape.dim.add(size=dim)
    request.inputs["images"].float_val.extend(x.ravel().tolist())
    response = stub.Predict(request, timeout=10)
    expected = reference_softmax_linear(x.reshape(1, 784), toy_model.weight, toy_model.bias)
    np.testing.assert_allclose(
        tf.make_ndarray(response.outputs["probabilities"]), expected, atol=1e-5
    )


def test_predict_multi_input_and_output_filter(zoo_stub: Any) -> None:
    a = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    b = np.array([[10, 20, 30], [40, 50, 60]], dtype=np.float32)
    response = zoo_stub.Predict(predict_request("pair", a=a, b=b), timeout=10)
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["sum"]), a + b)
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["product"]), a * b)
    request = predict_request("pair", a=a, b=b)
    request.output_filter.append("product")
    filtered = zoo_stub.Predict(request, timeout=10)
    assert list(filtered.outputs) == ["product"]


def test_version_and_version_label(zoo_stub: Any) -> None:
    x = np.full((1, 784), 0.5, dtype=np.float32)
    latest = zoo_stub.Predict(predict_request("toy", images=x), timeout=10)
    assert latest.model_spec.version.value == 2
    request = predict_request("toy", images=x)
    request.model_spec.version.value = 1
    one = zoo_stub.Predict(request, timeout=10)
    assert one.model_spec.version.value == 1
    request = predict_request("toy", images=x)
    request.model_spec.version_label = "stable"
    stable = zoo_stub.Predict(request, timeout=10)
    assert stable.model_spec.version.value == 1
    np.testing.assert_array_equal(
        tf.make_ndarray(stable.outputs["probabilities"]),
        tf.make_ndarray(one.outputs["probabilities"]),
    )
    assert not np.allclose(
        tf.make_ndarray(latest.outputs["probabilities"]),
        tf.make_ndarray(one.outputs["probabilities"]),
    )
    request.model_spec.version_label = "canary"
    error = rpc_error(zoo_stub.Predict, request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "canary" in error.details()


def test_get_model_metadata(stub: Any) -> None:
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "toy"
    request.metadata_field.append("signature_def")
    response = stub.GetModelMetadata(request, timeout=10)
    assert response.model_spec.version.value == 1
    signatures = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signatures)
    signature = signatures.signature_def["serving_default"]
    assert signature.method_name == "tensorflow/serving/predict"
    images = signature.inputs["images"]
    assert images.dtype == tf.float32.as_datatype_enum
    assert [d.size for d in images.tensor_shape.dim] == [-1, 784]
    assert [d.size for d in signature.outputs["probabilities"].tensor_shape.dim] == [-1, 10]
    del request.metadata_field[:]
    error = rpc_error(stub.GetModelMetadata, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "metadata_field" in error.details()


def test_get_model_status(zoo_channel: grpc.Channel) -> None:
    models = model_service_pb2_grpc.ModelServiceStub(zoo_channel)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "toy"
    response = models.GetModelStatus(request, timeout=10)
    assert [(s.version, s.state) for s in response.model_version_status] == [
        (2, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
        (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE),
    ]
    assert response.model_version_status[0].status.error_code == 0
    request.model_spec.version_label = "stable"
    assert [s.version for s in models.GetModelStatus(request, timeout=10).model_version_status] == [
        1
    ]
    request.model_spec.name = "missing"
    assert rpc_error(models.GetModelStatus, request).code() == grpc.StatusCode.NOT_FOUND


def test_reload_config_replaces_the_model_list(
    toy_model: ToyModel, pair_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    server = start_server(
        ["--model_name", "toy", "--model_base_path", str(toy_model.base_path)],
        "toy",
        tmp_path_factory.mktemp("reload"),
    )
    try:
        with grpc.insecure_channel(server.grpc_target) as channel:
            models = model_service_pb2_grpc.ModelServiceStub(channel)
            reload = model_management_pb2.ReloadConfigRequest()
            configs = reload.config.model_config_list.config
            configs.add(name="toy", base_path=str(toy_model.base_path))
            configs.add(name="pair", base_path=str(pair_model))
            answer = models.HandleReloadConfigRequest(reload, timeout=60)
            assert answer.status.error_code == 0
            status = get_model_status_pb2.GetModelStatusRequest()
            status.model_spec.name = "pair"
            versions = models.GetModelStatus(status, timeout=10).model_version_status
            assert [(v.version, v.state) for v in versions] == [
                (3, get_model_status_pb2.ModelVersionStatus.AVAILABLE)
            ]
            # A config the server cannot take is refused whole; the served list stays.
            configs[0].model_platform = "caffe"
            error = rpc_error(models.HandleReloadConfigRequest, reload)
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "caffe" in error.details()
            del configs[0]
            models.HandleReloadConfigRequest(reload, timeout=60)
            status.model_spec.name = "toy"
            assert rpc_error(models.GetModelStatus, status).code() == grpc.StatusCode.NOT_FOUND
            predict = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            ones = np.ones((1, 3), np.float32)
            answer = predict.Predict(predict_request("pair", a=ones, b=ones), timeout=10)
            np.testing.assert_array_equal(tf.make_ndarray(answer.outputs["sum"]), 2 * ones)
    finally:
        stop_server(server)


def examples(feature: str, rows: np.ndarray) -> classification_pb2.ClassificationRequest:
    request = classification_pb2.ClassificationRequest()
    for row in rows:
        example = request.input.example_list.examples.add()
        example.features.feature[feature].float_list.value.extend(row.tolist())
    return request


def test_classify_uses_labels(stub: Any, toy_model: ToyModel) -> None:
    x = np.random.default_rng(4).random((2, 784), dtype=np.float32)
    request = examples("images", x)
    request.model_spec.name = "toy"
    response = stub.Classify(request, timeout=10)
    expected = reference_softmax_linear(x, toy_model.weight, toy_model.bias)
    assert len(response.result.classifications) == 2
    for classes, scores in zip(response.result.classifications, expected, strict=True):
        assert [c.label for c in classes.classes] == [f"class{i}" for i in range(10)]
        np.testing.assert_allclose([c.score for c in classes.classes], scores, atol=1e-5)
    assert response.model_spec.version.value == 1


def test_classify_and_regress_refuse_unfit_models(zoo_stub: Any) -> None:
    request = examples("a", np.ones((1, 3), dtype=np.float32))
    request.input.example_list.examples[0].features.feature["b"].float_list.value.extend([1, 2, 3])
    request.model_spec.name = "pair"
    error = rpc_error(zoo_stub.Classify, request)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "exactly one output" in error.details()
    regress = regression_pb2.RegressionRequest()
    regress.input.CopyFrom(examples("images", np.ones((1, 784), dtype=np.float32)).input)
    regress.model_spec.name = "toy"
    error = rpc_error(zoo_stub.Regress, regress)
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "one value per example" in error.details()


def test_regress_and_multi_inference(zoo_stub: Any) -> None:
    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "half"
    request.input.CopyFrom(examples("x", np.array([[1.0], [3.0]], dtype=np.float32)).input)
    response = zoo_stub.Regress(request, timeout=10)
    assert [r.value for r in response.result.regressions] == [2.5, 3.5]
    multi = inference_pb2.MultiInferenceRequest()
    multi.input.CopyFrom(request.input)
    task = multi.tasks.add(method_name="tensorflow/serving/regress")
    task.model_spec.name = "half"
    answer = zoo_stub.MultiInference(multi, timeout=10)
    assert [r.value for r in answer.results[0].regression_result.regressions] == [2.5, 3.5]


@pytest.mark.parametrize(
    ("request_factory", "code", "words"),
    [
        (
            lambda: predict_request("toy", images=np.array([["a"] * 784])),
            "INVALID_ARGUMENT",
            "images",
        ),
        (
            lambda: predict_request("toy", images=np.ones((1, 100), np.float32)),
            "INVALID_ARGUMENT",
            "784",
        ),
        (
            lambda: predict_request("toy", pixels=np.ones((1, 784), np.float32)),
            "INVALID_ARGUMENT",
            "missing",
        ),
        (
            lambda: predict_request("nope", images=np.ones((1, 784), np.float32)),
            "NOT_FOUND",
            "nope",
        ),
        (
            lambda: predict_request("", images=np.ones((1, 784), np.float32)),
            "INVALID_ARGUMENT",
            "name",
        ),
    ],
    ids=["wrong-dtype", "wrong-shape", "missing-input", "unknown-model", "no-name"],
)
def test_bad_requests_get_status_and_server_keeps_serving(
    stub: Any, request_factory: Any, code: str, words: str
) -> None:
    error = rpc_error(stub.Predict, request_factory())
    assert error.code() == getattr(grpc.StatusCode, code)
    assert words in error.details()
    ok = stub.Predict(predict_request("toy", images=np.zeros((1, 784), np.float32)), timeout=10)
    assert tf.make_ndarray(ok.outputs["probabilities"]).shape == (1, 10)


def test_unknown_version_and_broken_tensor(stub: Any) -> None:
    request = predict_request("toy", images=np.ones((1, 784), np.float32))
    request.model_spec.version.value = 9
    error = rpc_error(stub.Predict, request)
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert "Specific(toy, 9)" in error.details()
    request = predict_request("toy", images=np.ones((1, 784), np.float32))
    request.inputs["images"].tensor_content = b"\x00" * 12
    error = rpc_error(stub.Predict, request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "tensor_content" in error.details()


def test_grpc_calls_are_counted_in_the_metrics(stub: Any, toy_server: RunningServer) -> None:
    def grpc_ok() -> float:
        scrape = httpx.get(f"{toy_server.url}/metrics", timeout=10).text
        wanted = ('api="grpc"', 'status="OK"', 'model="toy"', 'version="1"')
        for line in scrape.splitlines():
            if line.startswith("modelship_requests_total") and all(w in line for w in wanted):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = grpc_ok()
    x = np.zeros((1, 784), dtype=np.float32)
    for _ in range(3):
        stub.Predict(predict_request("toy", images=x), timeout=10)
    with pytest.raises(grpc.RpcError):
        stub.Predict(predict_request("toy", pixels=x), timeout=10)
    assert grpc_ok() == before + 3
