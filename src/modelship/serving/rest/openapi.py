"""OpenAPI description of the REST API, served at ``/openapi.json`` with a viewer at ``/docs``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from modelship import __version__

__all__ = ["OPENAPI", "openapi_routes"]

_ERROR = {
    "description": "Error",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            }
        }
    },
}
_ERRORS = {str(code): _ERROR for code in (400, 404, 413, 429, 500, 503)}


def _params(*names: str) -> list[dict[str, Any]]:
    schemas = {
        "model": {"type": "string"},
        "version": {"type": "string", "pattern": "^[0-9]+$"},
        "label": {"type": "string", "pattern": "^[a-zA-Z0-9_]+$"},
    }
    return [{"name": n, "in": "path", "required": True, "schema": schemas[n]} for n in names]


def _paths() -> dict[str, Any]:
    status = {
        "summary": "Model status: every version with its state (TF Serving)",
        "responses": {"200": {"description": "model_version_status"}, **_ERRORS},
    }
    metadata = {
        "summary": "Model metadata: signature_def (TF Serving)",
        "responses": {"200": {"description": "model_spec and signature_def"}, **_ERRORS},
    }
    predict = {
        "summary": "Predict, row (instances) or columnar (inputs) format (TF Serving)",
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "signature_name": {"type": "string"},
                            "instances": {
                                "type": "array",
                                "description": "one element per example; image models also "
                                'take encoded images as {"b64": "<base64 JPEG or PNG>"}',
                            },
                            "inputs": {},
                            "parameters": {
                                "type": "object",
                                "properties": {
                                    "top_k": {
                                        "type": "integer",
                                        "minimum": 1,
                                        "description": "also return the k best classes and "
                                        "scores per example (classes, scores)",
                                    }
                                },
                            },
                        },
                    },
                    "example": {"instances": [[0.0] * 4]},
                }
            },
        },
        "responses": {"200": {"description": "predictions or outputs"}, **_ERRORS},
    }
    examples = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "signature_name": {"type": "string"},
                            "context": {"type": "object"},
                            "examples": {"type": "array", "items": {"type": "object"}},
                        },
                        "required": ["examples"],
                    }
                }
            },
        },
        "responses": {"200": {"description": "results"}, **_ERRORS},
    }
    paths: dict[str, Any] = {}
    for suffix, names in (
        ("", ("model",)),
        ("/versions/{version}", ("model", "version")),
        ("/labels/{label}", ("model", "label")),
    ):
        base = "/v1/models/{model}" + suffix
        params = _params(*names)
        paths[base] = {"get": {**status, "parameters": params}}
        paths[base + "/metadata"] = {"get": {**metadata, "parameters": params}}
        paths[base + ":predict"] = {"post": {**predict, "parameters": params}}
        paths[base + ":classify"] = {
            "post": {
                **examples,
                "summary": "Classify: [label, score] per class",
                "parameters": params,
            }
        }
        paths[base + ":regress"] = {
            "post": {**examples, "summary": "Regress: one value per example", "parameters": params}
        }
    return paths


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "modelship",
        "version": __version__,
        "description": "TensorFlow Serving's REST API, served by modelship.",
    },
    "paths": _paths(),
}

_DOCS_PAGE = """<!doctype html>
<html><head><title>modelship API</title>
<link rel="stylesheet" href="https://unpkg.com/swagger-ui-dist@5/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="https://unpkg.com/swagger-ui-dist@5/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script>
</body></html>"""


def openapi_routes() -> list[Route]:
    async def spec(request: Request) -> Response:
        return Response(orjson.dumps(OPENAPI), media_type="application/json")

    async def docs(request: Request) -> Response:
        return HTMLResponse(_DOCS_PAGE)

    return [
        Route("/openapi.json", spec, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
    ]
