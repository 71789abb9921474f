"""TensorFlow Serving's REST API (``/v1/...``): parse, call the dataplane, encode.

Paths, bodies and errors follow TF Serving's ``api_rest.md``, so its curl examples and clients
work unchanged.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelship.errors import InvalidInput, VersionNotFound
from modelship.registry import ServedVersion
from modelship.serving.dataplane import DataPlane, ModelSpec
from modelship.serving.deadline import Deadline, within
from modelship.serving.metrics import API_REST_TFS
from modelship.serving.preprocess import find_images, image_spec, images_array
from modelship.serving.rest.body import read_body
from modelship.serving.tfs_examples import parse_examples
from modelship.serving.tfs_json import decode_body, encode_outputs, parse_predict_body
from modelship.serving.topk import add_top_k, requested_top_k

__all__ = ["predict_body", "tf_serving_routes"]

_PREFIXES = ("", "/versions/{version}", "/labels/{label}")


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _spec(request: Request) -> ModelSpec:
    params = request.path_params
    version = params.get("version")
    if version is not None and not (version.isdigit() and int(version) > 0):
        raise VersionNotFound(f"Malformed version {version!r}: versions are positive integers")
    return ModelSpec(
        name=params["model"],
        version=int(version) if version is not None else None,
        label=params.get("label"),
    )


def _requested_signature(body: Any) -> str:
    """The body's ``signature_name``; empty (the default signature) when it names none."""
    requested = body.get("signature_name", "") if isinstance(body, dict) else ""
    if not isinstance(requested, str):
        raise InvalidInput('"signature_name" must be a string')
    return requested


async def predict_body(
    dataplane: DataPlane, served: ServedVersion, raw: bytes, deadline: Deadline | None = None
) -> bytes:
    """The JSON answer to a predict request body addressed to ``served``.

    Args:
        deadline: the inference's deadline (``--rest_api_timeout_in_ms``); None: no limit.
    """
    body = decode_body(raw)
    signature_name, signature = dataplane.signature(served, _requested_signature(body))
    top_k = requested_top_k(body)
    # An image model also takes {"b64": ...} images, decoded by the dataplane; anything else
    # is a plain JSON tensor.
    found = find_images(body, signature) if image_spec(served) is not None else None
    if found is not None:
        name, values, row_format = found
        arrays = {name: images_array(values)}
    else:
        arrays, row_format = parse_predict_body(body, signature)
    outputs = await within(dataplane.predict(served, signature_name, arrays), deadline, "predict")
    if top_k is not None:
        labels = served.manifest.labels if served.manifest is not None else []
        outputs = add_top_k(outputs, labels, top_k)
    return encode_outputs(outputs, row_format)


def tf_serving_routes(
    dataplane: DataPlane, max_body_bytes: int, deadline: Deadline | None = None
) -> list[Route]:
    """Starlette routes for status, metadata and predict/classify/regress.

    Args:
        deadline: the inferences' deadline; None: no limit.
    """

    async def status(request: Request) -> Response:
        return _json({"model_version_status": dataplane.status(_spec(request))})

    async def metadata(request: Request) -> Response:
        spec = _spec(request)
        served = dataplane.resolve(spec)
        return _json(
            {
                "model_spec": {
                    "name": spec.name,
                    "signature_name": "",
                    "version": str(served.version),
                },
                "metadata": {
                    "signature_def": {"signature_def": dataplane.metadata(served)},
                    # modelship's additions; TF Serving's clients read only signature_def.
                    "modelship": dataplane.lineage(served),
                },
            }
        )

    async def verb(request: Request) -> Response:
        name = request.path_params["verb"]
        if name == "predict":
            return await predict(request)
        if name in ("classify", "regress"):
            return await classify_or_regress(request, name)
        raise InvalidInput(f"unknown method :{name}; use :predict, :classify or :regress")

    async def predict(request: Request) -> Response:
        spec = _spec(request)
        with dataplane.metrics.timed(spec.name, API_REST_TFS, str(spec.version or "")) as timer:
            served = dataplane.resolve(spec)
            timer.version = str(served.version)
            return await _predict(request, served)

    async def _predict(request: Request, served: ServedVersion) -> Response:
        raw = await read_body(request, max_body_bytes)
        answer = await predict_body(dataplane, served, raw, deadline)
        return Response(
            answer, media_type="application/json", headers={"x-model-version": str(served.version)}
        )

    async def classify_or_regress(request: Request, method: str) -> Response:
        served = dataplane.resolve(_spec(request))
        body = decode_body(await read_body(request, max_body_bytes))
        signature_name, signature = dataplane.signature(served, _requested_signature(body))
        inputs = parse_examples(body, signature)
        results: Any
        if method == "classify":
            results = await within(
                dataplane.classify(served, signature_name, inputs), deadline, method
            )
        else:
            results = await within(
                dataplane.regress(served, signature_name, inputs), deadline, method
            )
        return Response(
            orjson.dumps({"results": results}),
            media_type="application/json",
            headers={"x-model-version": str(served.version)},
        )

    routes: list[Route] = []
    for prefix in _PREFIXES:
        base = "/v1/models/{model}" + prefix
        # The ":verb" route first: "{model}" alone would also match "mnist:predict".
        routes.append(Route(base + ":{verb}", verb, methods=["POST"]))
        routes.append(Route(base + "/metadata", metadata, methods=["GET"]))
        routes.append(Route(base, status, methods=["GET"]))
    return routes
