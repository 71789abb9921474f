"""Encoded images over TF Serving's gRPC Predict, as TF Serving's image clients send them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tensorflow_serving.apis")

from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

from tests.conftest import ImageModel, RunningServer  # noqa: E402

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def image_stub(image_server: RunningServer) -> Iterator[Any]:
    with grpc.insecure_channel(image_server.grpc_target) as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)


def test_string_tensor_of_jpeg_and_png_bytes_is_decoded(
    image_stub: Any, image_model: ImageModel
) -> None:
    files = list(image_model.result.dataset.files_val)[:6]  # type: ignore[attr-defined]
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "shapes"
    request.inputs["images"].CopyFrom(
        tf.make_tensor_proto([f.read_bytes() for f in files], dtype=tf.string)
    )
    answer = image_stub.Predict(request, timeout=30)
    probs = tf.make_ndarray(answer.outputs["probabilities"])
    assert probs.shape == (6, 4)
    labels = image_model.result.dataset.labels  # type: ignore[attr-defined]
    predicted = [labels[i] for i in np.argmax(probs, axis=1)]
    assert sum(p == f.parent.name for p, f in zip(predicted, files, strict=True)) >= 5


def test_bytes_that_are_not_an_image_are_invalid_argument(image_stub: Any) -> None:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "shapes"
    request.inputs["images"].CopyFrom(tf.make_tensor_proto([b"not an image"], dtype=tf.string))
    with pytest.raises(grpc.RpcError) as caught:
        image_stub.Predict(request, timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "instance 0" in caught.value.details()
