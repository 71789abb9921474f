"""The OpenAPI document describes every REST route the app serves, and no route it lacks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

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
