"""A user's own models, from ``modelship.save`` in a notebook to the answers of a real server.

Each model is saved (or its file published) the way the README shows, then served by one
``modelship serve`` process; its REST predict, Open Inference Protocol (V2) and gRPC Predict
answers must equal the original model's within the tolerance the save reported.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")
pytest.importorskip("tensorflow_serving.apis")

from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc  # noqa: E402

import modelship  # noqa: E402
from modelship.saving import ExportWarning, SaveResult  # noqa: E402
from tests.conftest import RunningServer, start_server, stop_server  # noqa: E402
from tests.fixtures import own_models  # noqa: E402

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]

V2_TYPES = {"float32": "FP32", "int64": "INT64", "object": "BYTES"}


@dataclass
class Published:
    """One saved model: what save returned, the artifact the server serves it from, and the
    original model's answers to some inputs."""

    result: SaveResult
    served: str
    inputs: dict[str, np.ndarray]
    original: dict[str, np.ndarray]

    @property
    def tolerance(self) -> tuple[float, float]:
        check = self.result.checks[self.served]
        return check.rtol, check.atol


@dataclass
class Zoo:
    repo: Path
    models: dict[str, Published]
    keras_warnings: list[str]


def _cnn(repo: Path) -> Published:
    model = own_models.torch_cnn()
    example = torch.rand(4, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    result = modelship.save(
        model,
        repo / "cnn",
        example,
        signature_name="predict_images",
        input_names=["images"],
        output_names=["scores"],
        labels=[str(d) for d in range(10)],
        data={"x_train": example.numpy()},
    )
    inputs = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        original = {"scores": model(inputs).numpy()}
    return Published(result, "model.onnx", {"images": inputs.numpy()}, original)


def _tabular(repo: Path) -> Published:
    model = own_models.torch_tabular()
    example = {"numeric": torch.rand(2, 4), "category": torch.tensor([0, 3])}
    result = modelship.save(model, repo / "tabular", example, metrics={"auc": 0.5})
    numeric = torch.rand(5, 4, generator=torch.Generator().manual_seed(2))
    category = torch.tensor([4, 0, 1, 2, 3])
    with torch.no_grad():
        answer = model(numeric, category)
    original = {k: v.numpy() for k, v in answer.items()}
    inputs = {"numeric": numeric.numpy(), "category": category.numpy()}
    # Served by the PyTorch runtime from model.pt2 (model_platform "pytorch" below).
    return Published(result, "model.pt2", inputs, original)


def _keras(repo: Path) -> tuple[Published, list[str]]:
    model = own_models.keras_text()
    example = np.array([["good"], ["bad"], ["unknown"]], dtype=object)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExportWarning)
        result = modelship.save(model, repo / "text", example)
    messages = [str(w.message) for w in caught if issubclass(w.category, ExportWarning)]
    inputs = np.array([["fine"], ["good"], ["what"], ["bad"]], dtype=object)
    original = {"sentiment": np.asarray(model(tf.constant(inputs.astype(str)), training=False))}
    return Published(result, "saved_model.pb", {"text": inputs}, original), messages


def _onnx(repo: Path, tmp: Path) -> Published:
    import onnxruntime as ort

    path = own_models.onnx_file(tmp / "from_elsewhere.onnx")
    result = modelship.publish(path, repo / "elsewhere")
    x = np.random.default_rng(5).normal(size=(6, 3)).astype(np.float32)
    y, argmax = ort.InferenceSession(str(path)).run(["y", "argmax"], {"x": x})
    return Published(result, "model.onnx", {"x": x}, {"y": y, "argmax": argmax})


def _savedmodel(repo: Path, tmp: Path) -> Published:
    scorer = own_models.savedmodel(tmp / "scorer")
    result = modelship.publish(tmp / "scorer", repo / "scorer")
    features = np.random.default_rng(6).normal(size=(3, 4)).astype(np.float32)
    original = {k: v.numpy() for k, v in scorer(tf.constant(features)).items()}
    return Published(result, "model.onnx", {"features": features}, original)


def _doubled(repo: Path, tmp: Path, cnn: Published) -> Published:
    process = tmp / "doubling.py"
    process.write_text(own_models.DOUBLING_PROCESS)
    model = own_models.torch_cnn()
    result = modelship.save(
        model,
        repo / "doubled",
        torch.rand(2, 1, 8, 8),
        input_names=["images"],
        output_names=["scores"],
        process=process,
    )
    images = cnn.inputs["images"]
    with torch.no_grad():
        scores = model(torch.from_numpy(images * 2)).numpy()
    original = {"scores": scores, "label": scores.argmax(axis=1)}
    return Published(result, "model.onnx", {"images": images}, original)


def _eager(repo: Path) -> Path:
    version = repo / "eager" / "1"
    version.mkdir(parents=True)
    (version / "process.py").write_text(own_models.EAGER_PROCESS)
    torch.save({"weight": torch.tensor([1.0, 2.0, 3.0])}, version / "weights.pt")
    return version


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Zoo:
    tmp = tmp_path_factory.mktemp("own")
    repo = tmp / "models"
    cnn = _cnn(repo)
    text, keras_warnings = _keras(repo)
    models = {
        "cnn": cnn,
        "tabular": _tabular(repo),
        "text": text,
        "elsewhere": _onnx(repo, tmp),
        "scorer": _savedmodel(repo, tmp),
        "doubled": _doubled(repo, tmp, cnn),
    }
    _eager(repo)
    return Zoo(repo, models, keras_warnings)


@pytest.fixture(scope="module")
def server(zoo: Zoo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("own-server")
    platforms = {"tabular": "pytorch", "text": "tensorflow"}
    config = tmp / "models.config"
    lines = [
        f"  config {{ name: '{name}' base_path: '{zoo.repo / name}'"
        + (f" model_platform: '{platforms[name]}'" if name in platforms else "")
        + " }"
        for name in [*zoo.models, "eager"]
    ]
    config.write_text("model_config_list {\n" + "\n".join(lines) + "\n}\n")
    # Generous: the server imports torch and TensorFlow to load them, slow on a busy machine.
    running = start_server(
        ["--model_config_file", str(config), "--file_system_poll_wait_seconds", "1"],
        "text",
        tmp,
        timeout=300,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if httpx.get(f"{running.url}/v2/health/ready").status_code == 200:
            break
        time.sleep(0.2)
    yield running
    stop_server(running)


# ------------------------------------------------------------------------------- the answers


def _rest(server: RunningServer, name: str, inputs: dict[str, np.ndarray]) -> Any:
    body = {"inputs": {k: v.tolist() for k, v in inputs.items()}}
    answer = httpx.post(f"{server.url}/v1/models/{name}:predict", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["outputs"]


def _v2(server: RunningServer, name: str, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
    body = {
        "inputs": [
            {
                "name": k,
                "shape": list(v.shape),
                "datatype": V2_TYPES[str(v.dtype)],
                "data": v.reshape(-1).tolist(),
            }
            for k, v in inputs.items()
        ]
    }
    answer = httpx.post(f"{server.url}/v2/models/{name}/infer", json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return {o["name"]: np.asarray(o["data"]).reshape(o["shape"]) for o in answer.json()["outputs"]}


def _grpc(server: RunningServer, name: str, inputs: dict[str, np.ndarray]) -> dict[str, Any]:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    for key, value in inputs.items():
        dtype = tf.string if value.dtype == object else None
        data = value.astype(bytes) if value.dtype == object else value
        request.inputs[key].CopyFrom(tf.make_tensor_proto(data, dtype=dtype))
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        answer = stub.Predict(request, timeout=30)
    return {k: tf.make_ndarray(v) for k, v in answer.outputs.items()}


def _assert_equal(published: Published, got: Any, how: str) -> None:
    rtol, atol = published.tolerance
    if not isinstance(got, dict):
        # One output: TF Serving's REST answer drops its name.
        ((only, _),) = published.original.items()
        got = {only: got}
    for name, want in published.original.items():
        value = np.asarray(got[name])
        assert value.shape == want.shape, f"{how} {name}"
        if want.dtype.kind == "f":
            np.testing.assert_allclose(value, want, rtol=rtol, atol=atol, err_msg=f"{how} {name}")
        else:
            assert value.tolist() == want.tolist(), f"{how} {name}"


MODELS = ["cnn", "tabular", "text", "elsewhere", "scorer", "doubled"]


@pytest.mark.parametrize("name", MODELS)
def test_rest_v2_and_grpc_answer_as_the_original_model(
    zoo: Zoo, server: RunningServer, name: str
) -> None:
    published = zoo.models[name]
    for how, call in (("REST", _rest), ("V2", _v2), ("gRPC", _grpc)):
        _assert_equal(published, call(server, name, published.inputs), how)


def test_each_save_reports_its_checks_and_tolerance(zoo: Zoo) -> None:
    for name, published in zoo.models.items():
        check = published.result.checks[published.served]
        assert check.passed, name
        assert check.max_abs_error <= check.atol + check.rtol, name
        manifest = json.loads((published.result.path / "modelship.json").read_text())
        recorded = manifest["verification"]["artifacts"][published.served]
        assert recorded["max_abs_error"] == check.max_abs_error
        assert recorded["rtol"] == check.rtol
    assert zoo.models["cnn"].result.manifest.data["fingerprint"].startswith("sha256:")
    versions = zoo.models["tabular"].result.manifest.framework_versions
    assert {"torch", "numpy", "python"} <= set(versions)


def test_a_keras_string_lookup_is_served_without_a_broken_onnx(zoo: Zoo) -> None:
    text = zoo.models["text"].result
    assert not (text.path / "model.onnx").exists()
    assert (text.path / "saved_model.pb").is_file()
    assert "onnx" not in text.manifest.artifacts
    assert any(m.startswith("model.onnx left out") for m in zoo.keras_warnings)
    assert text.warnings == zoo.keras_warnings


def test_metadata_says_what_each_model_takes(server: RunningServer) -> None:
    tabular = httpx.get(f"{server.url}/v2/models/tabular").json()
    assert [(t["name"], t["datatype"], t["shape"]) for t in tabular["inputs"]] == [
        ("numeric", "FP32", [-1, 4]),
        ("category", "INT64", [-1]),
    ]
    assert [(t["name"], t["datatype"], t["shape"]) for t in tabular["outputs"]] == [
        ("probabilities", "FP32", [-1, 2]),
        ("category_id", "INT64", [-1]),
    ]
    cnn = httpx.get(f"{server.url}/v1/models/cnn/metadata").json()
    signatures = cnn["metadata"]["signature_def"]["signature_def"]
    assert list(signatures) == ["predict_images"]
    assert list(signatures["predict_images"]["inputs"]) == ["images"]


def test_an_eager_module_is_served_by_its_process_file(server: RunningServer) -> None:
    x = np.array([[1.0, 1.0, 1.0], [0.5, -1.0, 2.0]], dtype=np.float32)
    answer = httpx.post(
        f"{server.url}/v1/models/eager:predict", json={"instances": x.tolist()}, timeout=30
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == (x * [1.0, 2.0, 3.0]).tolist()
    assert httpx.get(f"{server.url}/v2/models/eager").json()["platform"] == "python"


def test_a_raising_process_file_answers_500_and_the_server_goes_on(
    server: RunningServer, zoo: Zoo
) -> None:
    bad = -np.ones((1, 1, 8, 8), dtype=np.float32)
    answer = httpx.post(
        f"{server.url}/v1/models/doubled:predict", json={"instances": bad.tolist()}, timeout=30
    )
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert "ValueError: negative pixels are not allowed here" in error
    assert "process.py, line" in error
    assert "in preprocess" in error
    status = httpx.get(f"{server.url}/v1/models/doubled").json()["model_version_status"]
    assert status[0]["state"] == "AVAILABLE"
    assert "negative pixels" in status[0]["status"]["error_message"]
    # The same version still answers good requests.
    published = zoo.models["doubled"]
    _assert_equal(published, _rest(server, "doubled", published.inputs), "REST after 500")
    assert "negative pixels are not allowed here" in server.output()


def test_a_version_whose_manifest_fails_the_schema_is_refused(
    server: RunningServer, zoo: Zoo
) -> None:
    base = zoo.repo / "elsewhere"
    serving = zoo.models["elsewhere"].result.version
    hidden = base / ".tmp-broken"
    hidden.mkdir()
    (hidden / "model.onnx").write_bytes((base / str(serving) / "model.onnx").read_bytes())
    broken = {"signatures": {"serving_default": {"inputs": {"x": {"dtype": "float32"}}}}}
    (hidden / "modelship.json").write_text(json.dumps(broken))
    os.rename(hidden, base / str(serving + 1))
    deadline = time.monotonic() + 30
    status: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        status = httpx.get(f"{server.url}/v1/models/elsewhere").json()["model_version_status"]
        refused = [s for s in status if s["version"] == str(serving + 1) and s["state"] == "END"]
        if refused:
            message = refused[0]["status"]["error_message"]
            assert "modelship.json schema" in message
            assert "outputs" in message  # the schema's reason: a required key is missing
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"version {serving + 1} not refused: {status}")
    published = zoo.models["elsewhere"]
    _assert_equal(published, _rest(server, "elsewhere", published.inputs), "REST")
