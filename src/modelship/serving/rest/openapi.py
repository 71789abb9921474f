"""OpenAPI description of the REST API, served at ``/openapi.json`` with a viewer at ``/docs``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from modelship import __version__
from modelship.serving.monitoring import DEFAULT_METRICS_PATHS

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
_ERRORS = {str(code): _ERROR for code in (400, 404, 413, 429, 500, 501, 503, 504)}


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
    paths.update(_v2_paths())
    paths.update(_server_paths())
    return paths


def _v2_tensor_list(description: str) -> dict[str, Any]:
    return {
        "type": "array",
        "description": description,
        "items": {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "datatype": {"type": "string"},
                "shape": {"type": "array", "items": {"type": "integer"}},
                "parameters": {"type": "object"},
                "data": {},
            },
            "required": ["name"],
        },
    }


def _v2_paths() -> dict[str, Any]:
    """The REST side of the Open Inference Protocol (KServe V2)."""
    health = {"responses": {"200": {"description": "yes"}, "400": {"description": "no"}}}
    infer_body = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "parameters": {"type": "object"},
            "inputs": _v2_tensor_list("one tensor per model input"),
            "outputs": {
                "type": "array",
                "description": "the outputs to return (default: all)",
                "items": {"type": "object", "properties": {"name": {"type": "string"}}},
            },
        },
        "required": ["inputs"],
    }
    paths: dict[str, Any] = {
        "/v2/health/live": {"get": {**health, "summary": "Server live (V2)"}},
        "/v2/health/ready": {"get": {**health, "summary": "Server ready: models loaded (V2)"}},
        "/v2": {
            "get": {
                "summary": "Server metadata: name, version, extensions (V2)",
                "responses": {"200": {"description": "server metadata"}},
            }
        },
    }
    for suffix, names in (("", ("model",)), ("/versions/{version}", ("model", "version"))):
        base = "/v2/models/{model}" + suffix
        params = _params(*names)
        paths[base] = {
            "get": {
                "summary": "Model metadata: versions, platform, inputs, outputs (V2)",
                "parameters": params,
                "responses": {"200": {"description": "model metadata"}, **_ERRORS},
            }
        }
        paths[base + "/ready"] = {
            "get": {**health, "summary": "Model ready (V2)", "parameters": params}
        }
        paths[base + "/infer"] = {
            "post": {
                "summary": "Inference (V2): JSON tensors, or the binary tensor extension",
                "parameters": params,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": infer_body},
                        "application/octet-stream": {
                            "schema": {
                                "type": "string",
                                "format": "binary",
                                "description": "a JSON header of Inference-Header-Content-"
                                "Length bytes, then the binary tensors",
                            }
                        },
                    },
                },
                "responses": {"200": {"description": "model outputs"}, **_ERRORS},
            }
        }
    return paths


def _server_paths() -> dict[str, Any]:
    """Metrics (the default paths; ``--monitoring_config_file`` may move them) and these docs."""
    metrics = {
        "get": {
            "summary": "Prometheus metrics in the text exposition format",
            "responses": {"200": {"description": "metrics", "content": {"text/plain": {}}}},
        }
    }
    return {
        **{path: metrics for path in DEFAULT_METRICS_PATHS},
        "/openapi.json": {
            "get": {
                "summary": "This OpenAPI document",
                "responses": {"200": {"description": "the document"}},
            }
        },
        "/docs": {
            "get": {
                "summary": "A viewer of this document",
                "responses": {"200": {"description": "an HTML page"}},
            }
        },
    }


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "modelship",
        "version": __version__,
        "description": "TensorFlow Serving's REST API and the Open Inference Protocol (V2), "
        "served by modelship.",
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
