"""TensorFlow Serving's REST API (``/v1/...``): decode, call the dataplane, encode; paths,
bodies and errors follow TF Serving's ``api_rest.md``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelship.codecs.examples import parse_examples
from modelship.codecs.metadata import signature_def_json, status_json
from modelship.codecs.tfs_json import (
    decode_body,
    encode_outputs,
    find_images,
    images_array,
    parse_predict_body,
)
from modelship.data.images import ImagePreprocessing
from modelship.errors import InvalidInput
from modelship.serving.dataplane import DataPlane
from modelship.serving.deadline import REST_TIMEOUT
from modelship.serving.inference import InferenceRequest, ModelSpec
from modelship.serving.metrics import API_REST_TFS
from modelship.serving.rest.body import read_body
from modelship.serving.rest.paths import spec_of
from modelship.serving.topk import requested_top_k
from modelship.signature import Arrays, Signature

__all__ = ["predict", "tf_serving_routes"]

_PREFIXES = ("", "/versions/{version}", "/labels/{label}")

ReadBody = Callable[[], Awaitable[bytes]]


def _json(data: Any, version: int | None = None) -> Response:
    headers = {"x-model-version": str(version)} if version is not None else None
    return Response(orjson.dumps(data), media_type="application/json", headers=headers)


def _requested_signature(body: Any) -> str:
    """The body's ``signature_name``; empty (the default signature) when it names none."""
    requested = body.get("signature_name", "") if isinstance(body, dict) else ""
    if not isinstance(requested, str):
        raise InvalidInput('"signature_name" must be a string')
    return requested


async def predict(
    dataplane: DataPlane, spec: ModelSpec, read: ReadBody, timeout: float | None
) -> tuple[bytes, int]:
    """TF Serving's predict: the JSON answer and the version that computed it; ``read`` is
    called once the version is resolved."""
    row_format = True

    async def request() -> InferenceRequest:
        body = decode_body(await read())

        def inputs(signature: Signature, image: ImagePreprocessing | None) -> Arrays:
            nonlocal row_format
            # An image model also takes {"b64": ...} images, decoded by the dataplane.
            found = find_images(body, signature) if image is not None else None
            if found is not None:
                name, values, row_format = found
                return {name: images_array(values)}
            arrays, row_format = parse_predict_body(body, signature)
            return arrays

        signature_name, top_k = "", None
        if not isinstance(body, dict) or "signature_name" in body or "parameters" in body:
            signature_name, top_k = _requested_signature(body), requested_top_k(body)
        return InferenceRequest(inputs, signature_name, (), top_k, timeout, REST_TIMEOUT)

    response = await dataplane.infer(spec, request, API_REST_TFS)
    return encode_outputs(response.outputs, row_format), response.version


def tf_serving_routes(
    dataplane: DataPlane, max_body_bytes: int, timeout: float | None = None
) -> list[Route]:
    """Starlette routes for status, metadata and predict/classify/regress."""

    async def status(request: Request) -> Response:
        return _json(status_json(dataplane.status(spec_of(request.path_params))))

    async def metadata(request: Request) -> Response:
        spec = spec_of(request.path_params)
        served, signatures = dataplane.signatures(spec)
        signature_def = {name: signature_def_json(s) for name, s in signatures.items()}
        return _json(
            {
                "model_spec": {
                    "name": spec.name,
                    "signature_name": "",
                    "version": str(served.version),
                },
                "metadata": {
                    "signature_def": {"signature_def": signature_def},
                    # modelship's additions; TF Serving's clients read only signature_def.
                    "modelship": dataplane.lineage(served),
                },
            }
        )

    async def verb(request: Request) -> Response:
        name = request.path_params["verb"]
        if name not in ("predict", "classify", "regress"):
            raise InvalidInput(f"unknown method :{name}; use :predict, :classify or :regress")
        spec = spec_of(request.path_params)

        async def read() -> bytes:
            return await read_body(request.scope, request.receive, max_body_bytes)

        if name == "predict":
            answer, version = await predict(dataplane, spec, read, timeout)
            return Response(
                answer, media_type="application/json", headers={"x-model-version": str(version)}
            )

        async def examples() -> InferenceRequest:
            body = decode_body(await read())
            return InferenceRequest(
                lambda signature, _: parse_examples(body, signature),
                signature_name=_requested_signature(body),
                timeout=timeout,
                timeout_source=REST_TIMEOUT,
            )

        results: Any
        if name == "classify":
            response, results = await dataplane.classify(spec, examples, API_REST_TFS)
        else:
            response, results = await dataplane.regress(spec, examples, API_REST_TFS)
        return _json({"results": results}, response.version)

    routes: list[Route] = []
    for prefix in _PREFIXES:
        base = "/v1/models/{model}" + prefix
        # The ":verb" route first: "{model}" alone would also match "mnist:predict".
        routes.append(Route(base + ":{verb}", verb, methods=["POST"]))
        routes.append(Route(base + "/metadata", metadata, methods=["GET"]))
        routes.append(Route(base, status, methods=["GET"]))
    return routes
