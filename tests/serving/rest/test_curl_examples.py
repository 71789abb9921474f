"""TF Serving's REST documentation examples, run with curl, unchanged but for host and model."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import RunningServer, start_server, stop_server
from tests.fixtures.toy_models import half_plus_two, write_version

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


@pytest.fixture(scope="module")
def half_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("repo") / "half_plus_two"
    write_version(base, 123, half_plus_two())
    server = start_server(
        ["--model_name", "half_plus_two", "--model_base_path", str(base)],
        "half_plus_two",
        tmp_path_factory.mktemp("log"),
    )
    yield server
    stop_server(server)


def curl(*args: str) -> object:
    done = subprocess.run(["curl", "-s", *args], check=True, capture_output=True, timeout=30)
    return json.loads(done.stdout)


def test_status(half_server: RunningServer) -> None:
    assert curl(f"{half_server.url}/v1/models/half_plus_two") == {
        "model_version_status": [
            {
                "version": "123",
                "state": "AVAILABLE",
                "status": {"error_code": "OK", "error_message": ""},
            }
        ]
    }


def test_metadata(half_server: RunningServer) -> None:
    answer = curl(f"{half_server.url}/v1/models/half_plus_two/metadata")
    assert isinstance(answer, dict)
    assert answer["model_spec"] == {"name": "half_plus_two", "signature_name": "", "version": "123"}
    signature = answer["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    assert signature["inputs"]["x"]["dtype"] == "DT_FLOAT"
    assert signature["inputs"]["x"]["tensor_shape"]["dim"] == [{"size": "-1", "name": ""}]


def test_predict_row_format(half_server: RunningServer) -> None:
    answer = curl(
        "-d", '{"instances": [1.0, 2.0, 5.0]}',
        "-X", "POST", f"{half_server.url}/v1/models/half_plus_two:predict",
    )  # fmt: skip
    assert answer == {"predictions": [2.5, 3.0, 4.5]}


def test_predict_columnar_format(half_server: RunningServer) -> None:
    answer = curl(
        "-d", '{"inputs": [1.0, 2.0, 5.0]}',
        "-X", "POST", f"{half_server.url}/v1/models/half_plus_two:predict",
    )  # fmt: skip
    assert answer == {"outputs": [2.5, 3.0, 4.5]}


def test_predict_specific_version(half_server: RunningServer) -> None:
    answer = curl(
        "-d", '{"instances": [1.0, 2.0, 5.0]}',
        "-X", "POST", f"{half_server.url}/v1/models/half_plus_two/versions/123:predict",
    )  # fmt: skip
    assert answer == {"predictions": [2.5, 3.0, 4.5]}


def test_regress(half_server: RunningServer) -> None:
    answer = curl(
        "-d", '{"examples": [{"x": 1.0}, {"x": 2.0}]}',
        "-X", "POST", f"{half_server.url}/v1/models/half_plus_two:regress",
    )  # fmt: skip
    assert answer == {"results": [2.5, 3.0]}


def test_regress_with_shared_context(half_server: RunningServer) -> None:
    answer = curl(
        "-d", '{"context": {"x": 4.0}, "examples": [{}, {"x": 6.0}]}',
        "-X", "POST", f"{half_server.url}/v1/models/half_plus_two:regress",
    )  # fmt: skip
    assert answer == {"results": [4.0, 5.0]}
