"""KServe's inference clients (REST v1 and v2, gRPC), unchanged, against a real server; they run
in a process of their own (see :mod:`tests.serving.kserve_client_calls`)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import start_server, stop_server

# Found, not imported: kserve's protobuf names clash with tritonclient's in this process.
if importlib.util.find_spec("kserve") is None:
    pytest.skip("kserve is not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results(pair_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("kserve")
    server = start_server(
        ["--model_name", "pair", "--model_base_path", str(pair_model)], "pair", tmp
    )
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.serving.kserve_client_calls",
                server.url,
                server.grpc_target,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])},
        )
    finally:
        stop_server(server)
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def test_health_over_rest_and_grpc(results: dict[str, Any]) -> None:
    for call in (
        "rest.is_server_live",
        "rest.is_server_ready",
        "rest.is_model_ready",
        "rest.v1.is_server_live",
        "grpc.is_server_live",
        "grpc.is_server_ready",
        "grpc.is_model_ready",
    ):
        assert results[call] is True, (call, results[call])
    assert results["rest.is_model_ready(absent)"] is False


def test_infer_over_rest_v2_and_grpc(results: dict[str, Any]) -> None:
    expected = {"sum": [[5.0, 7.0, 9.0]], "product": [[4.0, 10.0, 18.0]]}
    for call in ("rest.infer", "rest.infer(binary)", "grpc.infer"):
        assert results[call] == expected, (call, results[call])


def test_infer_over_rest_v1(results: dict[str, Any]) -> None:
    assert results["rest.v1.infer"] == {
        "predictions": [{"sum": [2.0, 3.0, 4.0], "product": [1.0, 2.0, 3.0]}]
    }


def test_unknown_models_in_the_v2_words(results: dict[str, Any]) -> None:
    for call in ("rest.infer(absent)", "grpc.infer(absent)"):
        assert "Request for unknown model: 'absent' is not found" in results[call]["error"]


def test_v1_model_ready_reads_a_field_tf_servings_status_lacks(results: dict[str, Any]) -> None:
    # KServe's v1 client reads "ready" from GET /v1/models/{m}, where TF Serving's API (which
    # modelship keeps exact) answers model_version_status: the call gets None, not an error.
    assert results["rest.v1.is_model_ready"] is None
