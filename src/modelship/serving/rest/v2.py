"""The Open Inference Protocol (KServe V2) over REST: health, metadata and inference.
``/v2/health/ready`` answers 200 only when every configured model has an AVAILABLE version.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelship import __version__
from modelship.codecs.classification import classify_outputs
from modelship.codecs.metadata import v2_metadata_json
from modelship.codecs.v2_json import V2Request, decode_request, encode_response
from modelship.serving.dataplane import DataPlane
from modelship.serving.deadline import REST_TIMEOUT
from modelship.serving.extensions import V2_EXTENSIONS
from modelship.serving.inference import InferenceRequest
from modelship.serving.metrics import API_REST_V2
from modelship.serving.rest.body import read_body
from modelship.serving.rest.paths import spec_of
from modelship.serving.rest.v2_extensions import v2_extension_routes

__all__ = ["v2_routes"]

_HEADER_LENGTH = "inference-header-content-length"


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _yes_no(key: str, answer: bool) -> Response:
    # The protocol: 200 means yes, a 4xx status means no (Triton's clients read only that);
    # KServe's client reads the JSON body too.
    return Response(
        orjson.dumps({key: answer}),
        status_code=200 if answer else 400,
        media_type="application/json",
    )


def v2_routes(
    dataplane: DataPlane, max_body_bytes: int, timeout: float | None = None
) -> list[Route]:
    """Starlette routes for the REST side of the Open Inference Protocol."""

    async def live(request: Request) -> Response:
        return _yes_no("live", True)

    async def root(request: Request) -> Response:
        # KServe's v1 protocol asks the root whether the server is alive.
        return _json({"status": "alive"})

    async def ready(request: Request) -> Response:
        return _yes_no("ready", dataplane.ready())

    async def server_metadata(request: Request) -> Response:
        return _json({"name": "modelship", "version": __version__, "extensions": V2_EXTENSIONS})

    async def model_ready(request: Request) -> Response:
        spec = spec_of(request.path_params)
        return _yes_no("ready", dataplane.model_ready(spec))

    async def model_metadata(request: Request) -> Response:
        return _json(v2_metadata_json(dataplane.model_metadata(spec_of(request.path_params))))

    async def infer(request: Request) -> Response:
        spec = spec_of(request.path_params)
        # The decoded body: read once the version is resolved, and needed again to encode.
        received: list[V2Request] = []

        async def read() -> InferenceRequest:
            body = await read_body(request.scope, request.receive, max_body_bytes)
            decoded = decode_request(body, request.headers.get(_HEADER_LENGTH))
            received.append(decoded)
            return InferenceRequest(
                decoded.inputs,
                output_filter=decoded.outputs,
                timeout=timeout,
                timeout_source=REST_TIMEOUT,
                typed=True,
            )

        response = await dataplane.infer(spec, read, API_REST_V2)
        (decoded,) = received
        outputs = response.outputs
        if decoded.classifications:
            outputs = classify_outputs(outputs, decoded.classifications, response.labels)
        content, header_length = encode_response(spec.name, str(response.version), decoded, outputs)
        if header_length is None:
            return Response(content, media_type="application/json")
        return Response(
            content,
            media_type="application/octet-stream",
            headers={"Inference-Header-Content-Length": str(header_length)},
        )

    routes = [
        Route("/", root, methods=["GET"]),
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2", server_metadata, methods=["GET"]),
        # Before /v2/models/{model}, which would take "stats" for a model's name.
        *v2_extension_routes(dataplane),
    ]
    for base in ("/v2/models/{model}", "/v2/models/{model}/versions/{version}"):
        routes += [
            Route(base, model_metadata, methods=["GET"]),
            Route(base + "/ready", model_ready, methods=["GET"]),
            Route(base + "/infer", infer, methods=["POST"]),
        ]
    return routes
