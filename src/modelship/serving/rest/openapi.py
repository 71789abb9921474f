"""OpenAPI description of the REST API, served at ``/openapi.json`` with a viewer at ``/docs``."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from modelship import __version__
from modelship.codecs.dtypes import DTYPES
from modelship.serving.monitoring import DEFAULT_METRICS_PATHS

__all__ = ["OPENAPI", "openapi_routes"]

_Json = dict[str, Any]
_STRING = {"type": "string"}
_PARAMS = {
    "model": _STRING,
    "version": {"type": "string", "pattern": "^[0-9]+$"},
    "label": {"type": "string", "pattern": "^[a-zA-Z0-9_]+$"},
}


def _object(required: list[str] | None = None, **properties: Any) -> _Json:
    schema = {"type": "object", "properties": properties}
    return {**schema, "required": required} if required else schema


def _array(description: str, items: _Json | None = None) -> _Json:
    return {"type": "array", "description": description, **({"items": items} if items else {})}


def _json(schema: _Json, **extra: Any) -> _Json:
    return {"application/json": {"schema": schema, **extra}}


def _ok(description: str, **extra: Any) -> _Json:
    return {"200": {"description": description, **extra}}


_ERROR = {"description": "Error", "content": _json(_object(["error"], error=_STRING))}
_ERRORS = {str(code): _ERROR for code in (400, 404, 413, 429, 500, 501, 503, 504)}
_HEALTH = {**_ok("yes"), "400": {"description": "no"}}

_TOP_K = "also return the k best classes and scores per example (classes, scores)"
_BINARY = "a JSON header of Inference-Header-Content-Length bytes, then the binary tensors"
# A tensor's JSON value: a scalar or nested lists; bytes as {"b64": "<base64>"}.
_B64 = _object(["b64"], b64={"type": "string", "contentEncoding": "base64"})
_VALUE = {"type": ["array", "number", "string", "boolean", "object"]}
_PREDICT = _json(
    {
        **_object(
            signature_name=_STRING,
            instances=_array(
                "row format: one element per example (an object naming the inputs, or the one "
                'input\'s value); image models also take encoded images as {"b64": '
                '"<base64 JPEG or PNG>"}',
                {**_VALUE, "description": "an example"},
            )
            | {"minItems": 1},
            inputs={
                **_VALUE,
                "description": "columnar format: an object naming the inputs, or the value of "
                "the one input (a list, a scalar, or a b64 object)",
            },
            parameters=_object(top_k={"type": "integer", "minimum": 1, "description": _TOP_K}),
        ),
        "oneOf": [{"required": ["instances"]}, {"required": ["inputs"]}],
    },
    example={"instances": [[0.0] * 4]},
)
# A tf.Example's feature: one value or a list, of numbers, strings or b64 objects.
_FEATURE = {
    "anyOf": [
        {"type": ["number", "string"]},
        _B64,
        {"type": "array", "items": {"anyOf": [{"type": ["number", "string"]}, _B64]}},
    ]
}
_EXAMPLE = {
    "type": "object",
    "description": "features by name",
    "additionalProperties": _FEATURE,
}
_EXAMPLES = _json(
    _object(
        ["examples"],
        signature_name=_STRING,
        context={**_EXAMPLE, "description": "features shared by every example"},
        examples=_array("the examples, as tf.Example features", _EXAMPLE) | {"minItems": 1},
    )
)
_NULLABLE_OBJECT = {"type": ["object", "null"]}
_TENSOR = _object(
    ["name", "shape", "datatype"],
    name=_STRING,
    datatype={"type": "string", "enum": [d.v2 for d in DTYPES]},
    shape=_array("the tensor's dimensions", {"type": "integer", "minimum": 0}),
    parameters={
        **_NULLABLE_OBJECT,
        "properties": {"binary_data_size": {"type": "integer", "minimum": 0}},
    },
    data={
        **_VALUE,
        "description": "the elements in row-major order, flat or nested; absent with "
        "parameters.binary_data_size",
    },
)
_REQUESTED_OUTPUT = _object(
    ["name"],
    name=_STRING,
    parameters={
        **_NULLABLE_OBJECT,
        "properties": {
            "binary_data": {"type": "boolean"},
            "classification": {"type": "integer", "minimum": 1},
        },
    },
)
_INFER = {
    **_json(
        _object(
            ["inputs"],
            id={"type": ["string", "null"]},
            parameters=_NULLABLE_OBJECT,
            inputs=_array("one tensor per model input", _TENSOR),
            outputs=_array("the outputs to return (default: all)", _REQUESTED_OUTPUT),
        )
    ),
    "application/octet-stream": {
        "schema": {"type": "string", "format": "binary", "description": _BINARY}
    },
}


def _paths() -> _Json:
    """Every REST route: TF Serving's under three version prefixes, V2's under two, the server's."""
    paths: _Json = {}

    def add(
        path: str, summary: str, ok: str | _Json, body: _Json | None = None, required: bool = True
    ) -> None:
        """``ok``: the responses, or what a 200 holds (then any API error may answer instead)."""
        responses = {**_ok(ok), **_ERRORS} if isinstance(ok, str) else ok
        op: _Json = {"summary": summary, "responses": responses}
        if names := re.findall(r"\{(\w+)\}", path):
            op["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": _PARAMS[n]} for n in names
            ]
        if body:
            op["requestBody"] = {"required": required, "content": body}
        paths[path] = {"post" if body else "get": op}

    for version in ("", "/versions/{version}", "/labels/{label}"):
        base = "/v1/models/{model}" + version
        add(base, "Model status: every version with its state (TF Serving)", "model_version_status")
        metadata = "Model metadata: signature_def (TF Serving)"
        add(f"{base}/metadata", metadata, "model_spec and signature_def")
        predict = "Predict, row (instances) or columnar (inputs) format (TF Serving)"
        add(f"{base}:predict", predict, "predictions or outputs", _PREDICT)
        add(f"{base}:classify", "Classify: [label, score] per class", "results", _EXAMPLES)
        add(f"{base}:regress", "Regress: one value per example", "results", _EXAMPLES)
    add("/", 'Server live: {"status": "alive"} (KServe\'s v1 protocol)', "status")
    add("/v2/health/live", "Server live (V2)", _HEALTH)
    add("/v2/health/ready", "Server ready: models loaded (V2)", _HEALTH)
    add("/v2", "Server metadata: name, version, extensions (V2)", _ok("server metadata"))
    for version in ("", "/versions/{version}"):
        base = "/v2/models/{model}" + version
        add(base, "Model metadata: versions, platform, inputs, outputs (V2)", "model metadata")
        add(f"{base}/ready", "Model ready (V2)", _HEALTH)
        infer = "Inference (V2): JSON tensors, or the binary tensor extension"
        add(f"{base}/infer", infer, "model outputs", _INFER)
        add(f"{base}/stats", "Inference statistics (V2 statistics extension)", "model_stats")
        add(f"{base}/config", "Model configuration (V2 model configuration extension)", "config")
    add("/v2/models/stats", "Inference statistics of every model (V2 statistics)", "model_stats")
    repository = _json(_object([], ready={"type": "boolean"}, parameters={"type": "object"}))
    add("/v2/repository/index", "Models and versions with their states", "index", repository, False)
    for action in ("load", "unload"):
        summary = f"{action.capitalize()} a model (V2 model repository extension)"
        add(f"/v2/repository/models/{{model}}/{action}", summary, "empty", repository, False)
    # The default metrics paths (--monitoring_config_file may move them), then these docs.
    metrics = _ok("metrics", content={"text/plain": {}})
    for path in DEFAULT_METRICS_PATHS:
        add(path, "Prometheus metrics in the text exposition format", metrics)
    drift = "Live drift of inputs and predicted classes against training, per version"
    add("/monitoring/drift", drift, "sampling_rate and versions")
    add("/monitoring/drift/{model}", drift + ", of one model", "sampling_rate and versions")
    logs = "Request logs (logging_config): files, records written, records dropped, last error"
    add("/monitoring/request_log", logs, "request_logs")
    add("/openapi.json", "This OpenAPI document", _ok("the document"))
    add("/docs", "A viewer of this document", _ok("an HTML page"))
    return paths


OPENAPI: _Json = {
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

    return [Route("/openapi.json", spec, methods=["GET"]), Route("/docs", docs, methods=["GET"])]
