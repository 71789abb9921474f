"""REST routes of the Open Inference Protocol's extensions that Triton's clients call:
statistics, model configuration and the model repository."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelship.codecs.v2_extensions import config_json, index_json, statistics_json
from modelship.errors import InvalidInput
from modelship.serving.dataplane import DataPlane
from modelship.serving.extensions import ModelRepository, model_config, model_statistics
from modelship.serving.rest.body import read_body
from modelship.serving.rest.paths import spec_of

__all__ = ["v2_extension_routes"]

# Repository calls carry a small JSON object at most.
_MAX_CONTROL_BODY = 1024 * 1024


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    """A repository call's optional JSON object body."""
    body = await read_body(request.scope, request.receive, _MAX_CONTROL_BODY)
    if not body.strip():
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    return data


async def _parameters(request: Request) -> dict[str, Any]:
    """The ``parameters`` object of a repository call's body."""
    parameters = (await _body(request)).get("parameters", {})
    if not isinstance(parameters, dict):
        raise InvalidInput('"parameters" must be a JSON object')
    return parameters


def v2_extension_routes(dataplane: DataPlane) -> list[Route]:
    """Starlette routes for statistics, model configuration and the model repository."""
    repository = ModelRepository(dataplane)

    async def statistics(request: Request) -> Response:
        spec = spec_of({"model": "", **request.path_params})
        return _json(statistics_json(model_statistics(dataplane, spec.name, spec.version)))

    async def config(request: Request) -> Response:
        return _json(config_json(*model_config(dataplane, spec_of(request.path_params))))

    async def index(request: Request) -> Response:
        ready = (await _body(request)).get("ready", False)
        if not isinstance(ready, bool):
            raise InvalidInput('"ready" must be true or false')
        return _json(index_json(repository.index(ready)))

    async def load(request: Request) -> Response:
        parameters = await _parameters(request)
        unknown = sorted(k for k in parameters if k != "config")
        if unknown:
            raise InvalidInput(
                f"unsupported load parameter(s) {', '.join(unknown)}: modelship loads models "
                'from their base_path; give it in "config"'
            )
        config = parameters.get("config")
        if config is not None and not isinstance(config, str):
            raise InvalidInput('the load parameter "config" must be a JSON string')
        await repository.load(request.path_params["model"], config)
        return Response(status_code=200)

    async def unload(request: Request) -> Response:
        await _parameters(request)  # unload_dependents: modelship has no ensembles
        await repository.unload(request.path_params["model"])
        return Response(status_code=200)

    return [
        Route("/v2/models/stats", statistics, methods=["GET"]),
        Route("/v2/models/{model}/stats", statistics, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}/stats", statistics, methods=["GET"]),
        Route("/v2/models/{model}/config", config, methods=["GET"]),
        Route("/v2/models/{model}/versions/{version}/config", config, methods=["GET"]),
        Route("/v2/repository/index", index, methods=["POST"]),
        Route("/v2/repository/models/{model}/load", load, methods=["POST"]),
        Route("/v2/repository/models/{model}/unload", unload, methods=["POST"]),
    ]
