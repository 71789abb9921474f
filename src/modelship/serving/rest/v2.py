"""The Open Inference Protocol (KServe V2) over REST: health, metadata and inference.

``/v2/health/ready`` answers 200 only when every configured model has an AVAILABLE version,
so a readiness probe never routes traffic to a server that would answer 404. Inference takes
JSON tensors and the binary tensor data extension (see :mod:`modelship.serving.v2_json`).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelship import __version__
from modelship.errors import InvalidInput, VersionNotFound
from modelship.registry import ServedVersion
from modelship.serving.dataplane import DataPlane, ModelSpec
from modelship.serving.deadline import Deadline, within
from modelship.serving.metrics import API_REST_V2
from modelship.serving.rest.body import read_body
from modelship.serving.v2_json import decode_request, encode_response
from modelship.signature import TensorSpec, v2_datatype

__all__ = ["V2_EXTENSIONS", "v2_routes"]

V2_EXTENSIONS = ["binary_tensor_data"]
_HEADER_LENGTH = "inference-header-content-length"


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _yes_no(answer: bool) -> Response:
    # The protocol: 200 means yes, a 4xx status means no; the body is empty.
    return Response(status_code=200 if answer else 400)


def _spec(request: Request) -> ModelSpec:
    version = request.path_params.get("version")
    if version is not None and not (version.isdigit() and int(version) > 0):
        raise VersionNotFound(f"Malformed version {version!r}: versions are positive integers")
    return ModelSpec(
        name=request.path_params["model"], version=int(version) if version is not None else None
    )


def _tensor(name: str, spec: TensorSpec) -> dict[str, Any]:
    return {"name": name, "datatype": v2_datatype(spec.dtype), "shape": list(spec.shape)}


def v2_routes(
    dataplane: DataPlane, max_body_bytes: int, deadline: Deadline | None = None
) -> list[Route]:
    """Starlette routes for the REST side of the Open Inference Protocol.

    Args:
        deadline: the inferences' deadline; None: no limit.
    """

    async def live(request: Request) -> Response:
        return _yes_no(True)

    async def ready(request: Request) -> Response:
        return _yes_no(dataplane.ready())

    async def server_metadata(request: Request) -> Response:
        return _json({"name": "modelship", "version": __version__, "extensions": V2_EXTENSIONS})

    async def model_ready(request: Request) -> Response:
        return _yes_no(dataplane.model_ready(_spec(request)))

    async def model_metadata(request: Request) -> Response:
        spec = _spec(request)
        served = dataplane.resolve(spec)
        _, signature = dataplane.signature(served, "")
        available = [
            s["version"]
            for s in dataplane.status(ModelSpec(spec.name))
            if s["state"] == "AVAILABLE"
        ]
        return _json(
            {
                "name": spec.name,
                "versions": available,
                "platform": served.require_runtime().name,
                "inputs": [_tensor(k, v) for k, v in signature.inputs.items()],
                "outputs": [_tensor(k, v) for k, v in signature.outputs.items()],
            }
        )

    async def infer(request: Request) -> Response:
        spec = _spec(request)
        with dataplane.metrics.timed(spec.name, API_REST_V2, str(spec.version or "")) as timer:
            served = dataplane.resolve(spec)
            timer.version = str(served.version)
            return await _infer(request, spec, served)

    async def _infer(request: Request, spec: ModelSpec, served: ServedVersion) -> Response:
        body = await read_body(request, max_body_bytes)
        decoded = decode_request(body, request.headers.get(_HEADER_LENGTH))
        signature_name, signature = dataplane.signature(served, "")
        unknown = [o for o in decoded.outputs if o not in signature.outputs]
        if unknown:
            raise InvalidInput(
                f"unknown output(s) {', '.join(unknown)}; the model returns "
                f"{', '.join(signature.outputs)}"
            )
        call = dataplane.predict(served, signature_name, decoded.inputs)
        outputs = await within(call, deadline, "infer")
        if decoded.outputs:
            outputs = {name: outputs[name] for name in decoded.outputs}
        content, header_length = encode_response(spec.name, str(served.version), decoded, outputs)
        if header_length is None:
            return Response(content, media_type="application/json")
        return Response(
            content,
            media_type="application/octet-stream",
            headers={"Inference-Header-Content-Length": str(header_length)},
        )

    routes = [
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
        Route("/v2", server_metadata, methods=["GET"]),
    ]
    for base in ("/v2/models/{model}", "/v2/models/{model}/versions/{version}"):
        routes += [
            Route(base, model_metadata, methods=["GET"]),
            Route(base + "/ready", model_ready, methods=["GET"]),
            Route(base + "/infer", infer, methods=["POST"]),
        ]
    return routes
