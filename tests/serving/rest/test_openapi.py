"""The OpenAPI document describes every REST route the app serves, and no route it lacks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.rest.app import build_app
from modelship.serving.rest.openapi import OPENAPI

# TF Serving's ``:{verb}`` route serves these three methods; the document lists each.
TFS_VERBS = ("predict", "classify", "regress")


@pytest.fixture(scope="module")
def app() -> Any:
    return build_app(DataPlane(Registry(), ThreadExecutor()), max_body_bytes=1 << 20)


def _starlette(app: Any) -> Starlette:
    """The Starlette app inside the middleware (fast path, replica header, CORS) around it."""
    while not isinstance(app, Starlette):
        app = app.app
    return app


def _walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _walk(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            # Starlette adds HEAD to every GET route; OpenAPI documents the GET.
            for method in sorted((route.methods or set()) - {"HEAD"}):
                path = prefix + route.path
                for verb in TFS_VERBS if "{verb}" in path else ("",):
                    yield _shape(path.replace("{verb}", verb)), method.lower()


def _shape(path: str) -> str:
    """The path with each parameter's name dropped: ``/v1/models/{}/versions/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _documented() -> set[tuple[str, str]]:
    return {(_shape(path), method) for path, item in OPENAPI["paths"].items() for method in item}


def test_every_route_is_documented(app: Any) -> None:
    served = set(_walk(_starlette(app).routes))
    assert served  # the walk found the app's routes
    missing = sorted(served - _documented())
    assert not missing, f"routes without an OpenAPI entry: {missing}"


def test_every_documented_path_is_served(app: Any) -> None:
    extra = sorted(_documented() - set(_walk(_starlette(app).routes)))
    assert not extra, f"OpenAPI entries without a route: {extra}"


def test_path_parameters_are_declared() -> None:
    for path, item in OPENAPI["paths"].items():
        names = set(re.findall(r"\{([^}]*)\}", path))
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == names, (path, method)
            assert "200" in operation["responses"], (path, method)


def test_the_document_is_served_as_built(app: Any) -> None:
    answer = TestClient(app).get("/openapi.json")
    assert answer.status_code == 200
    assert answer.json()["paths"].keys() == OPENAPI["paths"].keys()


def _request_schema(path: str) -> dict[str, Any]:
    body = OPENAPI["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    return dict(body["schema"])


BINARY_2 = {"binary_data_size": 2}
VALID_BODIES = {
    "/v1/models/{model}:predict": [
        {"instances": [[0.5, 1.0]]},
        {"instances": [{"x": [1, 2], "image": {"b64": "aGk="}}], "signature_name": "serving"},
        {"inputs": {"x": [[1.0, 2.0]]}, "parameters": {"top_k": 3}},
        {"inputs": [[1.0, 2.0]]},
        {"inputs": 1.5},
    ],
    "/v1/models/{model}:classify": [
        {"examples": [{"x": [1.0, 2.0], "tag": "a"}, {"x": 3, "raw": {"b64": "aGk="}}]},
        {"context": {"lang": "en"}, "examples": [{"x": [1.0]}], "signature_name": "s"},
    ],
    "/v2/models/{model}/infer": [
        {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}]},
        {
            "id": "r1",
            "parameters": {"binary_data_output": True},
            "inputs": [
                {"name": "s", "shape": [1], "datatype": "BYTES", "data": ["a"]},
                {"name": "b", "shape": [0], "datatype": "BOOL", "parameters": None, "data": []},
                {"name": "r", "shape": [2], "datatype": "INT8", "parameters": BINARY_2},
            ],
            "outputs": [{"name": "scores", "parameters": {"classification": 2}}],
        },
    ],
}
INVALID_BODIES = {
    "/v1/models/{model}:predict": [
        {},
        {"instances": []},
        {"instances": [[1]], "inputs": [[1]]},
        {"instances": {"x": 1}},
        {"inputs": [[1.0]], "signature_name": 3},
    ],
    "/v1/models/{model}:classify": [{}, {"examples": []}, {"examples": [[1, 2]]}],
    "/v2/models/{model}/infer": [
        {"inputs": {"name": "x"}},
        {"inputs": [{"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}]},
        {"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]},
        {"inputs": [{"name": "x", "shape": [True], "datatype": "FP32", "data": [1]}]},
        {"inputs": [{"name": "x", "datatype": "FP32", "data": [1]}]},
        {"inputs": [], "outputs": [{"parameters": {}}]},
        {"inputs": [], "parameters": []},
    ],
}


@pytest.mark.parametrize("path", sorted(VALID_BODIES))
def test_request_schemas_state_the_contract(path: str) -> None:
    # Bodies of the protocol the server answers validate; malformed ones do not (the fuzzer
    # generates from these schemas, and its negative cases from their complement).
    validator = jsonschema.Draft202012Validator(_request_schema(path))
    for body in VALID_BODIES[path]:
        assert not list(validator.iter_errors(body)), body
    for body in INVALID_BODIES[path]:
        assert list(validator.iter_errors(body)), body
