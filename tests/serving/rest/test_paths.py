"""REST paths: which ones the predict fast path takes, and versions checked once for all."""

from __future__ import annotations

import pytest

from modelship.errors import VersionNotFound
from modelship.serving.inference import ModelSpec
from modelship.serving.rest.paths import parse_predict_path, spec_of
from tests.conftest import RunningServer


@pytest.mark.parametrize(
    ("path", "spec"),
    [
        ("/v1/models/toy:predict", ModelSpec("toy")),
        ("/v1/models/toy/versions/3:predict", ModelSpec("toy", version=3)),
        ("/v1/models/toy/labels/stable:predict", ModelSpec("toy", label="stable")),
        # Left to the routed app:
        ("/v1/models/toy:classify", None),
        ("/v1/models/toy/other/1:predict", None),
        ("/v1/models/:predict", None),
        ("/v2/models/toy:predict", None),
    ],
)
def test_predict_paths_are_recognised(path: str, spec: ModelSpec | None) -> None:
    assert parse_predict_path(path) == spec


@pytest.mark.parametrize("version", ["x", "0", "-1", "\u00b2", "1" * 5000, "9223372036854775808"])
def test_malformed_versions_are_not_found(version: str) -> None:
    with pytest.raises(VersionNotFound, match="Malformed version"):
        parse_predict_path(f"/v1/models/toy/versions/{version}:predict")
    with pytest.raises(VersionNotFound, match="Malformed version"):
        spec_of({"model": "toy", "version": version})


def test_route_parameters_name_the_model_version_or_label() -> None:
    assert spec_of({"model": "toy"}) == ModelSpec("toy")
    assert spec_of({"model": "toy", "version": "7"}) == ModelSpec("toy", version=7)
    assert spec_of({"model": "toy", "label": "canary"}) == ModelSpec("toy", label="canary")


def test_predict_errors_are_json_with_the_status_of_their_code(toy_server: RunningServer) -> None:
    import httpx

    fast = httpx.post(f"{toy_server.url}/v1/models/toy:predict", content=b"{nope")
    assert fast.status_code == 400
    assert fast.json()["error"].startswith("the body is not valid JSON")
    assert fast.headers["content-type"] == "application/json"
    missing = httpx.post(f"{toy_server.url}/v1/models/absent:predict", json={"instances": [[1]]})
    assert missing.status_code == 404
    assert missing.json() == {"error": "Servable not found for request: Latest(absent)"}
    routed = httpx.post(f"{toy_server.url}/v1/models/toy/versions/x:predict", json={})
    assert routed.status_code == 404
    assert "Malformed version" in routed.json()["error"]
    ok = httpx.post(f"{toy_server.url}/v1/models/toy:predict", json={"instances": [[0.0] * 784]})
    assert ok.status_code == 200
    assert ok.headers["x-model-version"] == "1"
    assert "x-modelship-replica" in ok.headers
