"""The predict fast path: which paths it takes, and that its answers match the routed ones."""

from __future__ import annotations

import pytest

from modelship.serving.dataplane import ModelSpec
from modelship.serving.rest.fastpath import parse_predict_path
from tests.conftest import RunningServer


@pytest.mark.parametrize(
    ("path", "spec"),
    [
        ("/v1/models/toy:predict", ModelSpec("toy")),
        ("/v1/models/toy/versions/3:predict", ModelSpec("toy", version=3)),
        ("/v1/models/toy/labels/stable:predict", ModelSpec("toy", label="stable")),
        # Left to the routed app, which answers them with its own messages:
        ("/v1/models/toy:classify", None),
        ("/v1/models/toy/versions/x:predict", None),
        ("/v1/models/toy/versions/0:predict", None),
        ("/v1/models/toy/other/1:predict", None),
        ("/v1/models/:predict", None),
        ("/v2/models/toy:predict", None),
    ],
)
def test_predict_paths_are_recognised(path: str, spec: ModelSpec | None) -> None:
    assert parse_predict_path(path) == spec


def test_fast_and_routed_errors_agree(toy_server: RunningServer) -> None:
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
