"""``GET /monitoring/drift[/{model}]``: each served version's live drift; ``GET
/monitoring/request_log``: each request log's files, records, drops and last error; as JSON."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelship.errors import Unimplemented
from modelship.serving.dataplane import DataPlane
from modelship.serving.drift import DriftMonitor
from modelship.serving.requestlog import RequestLogger

__all__ = ["DRIFT_PATH", "REQUEST_LOG_PATH", "drift_monitor", "drift_routes"]

DRIFT_PATH = "/monitoring/drift"
REQUEST_LOG_PATH = "/monitoring/request_log"


def drift_monitor(dataplane: DataPlane) -> DriftMonitor | None:
    """The dataplane's drift monitor, if drift is watched."""
    tap = dataplane.tap
    monitors = tap.monitors if tap is not None else []
    return next((m for m in monitors if isinstance(m, DriftMonitor)), None)


def drift_routes(dataplane: DataPlane) -> list[Route]:
    """The drift report of every model, or of one (404 for a model that is not served)."""

    async def report(request: Request) -> Response:
        monitor = drift_monitor(dataplane)
        if monitor is None:
            raise Unimplemented(
                "drift monitoring is off on this server (--enable_drift_monitoring)"
            )
        name = request.path_params.get("model")
        entries = [dataplane.registry.model(name)] if name else dataplane.registry.models()
        versions = [
            (entry.name, served.version, served.manifest)
            for entry in entries
            for served in sorted(list(entry.versions.values()), key=lambda v: -v.version)
            if served.available
        ]
        body = {"sampling_rate": monitor.rate, "versions": monitor.report(versions)}
        return Response(orjson.dumps(body), media_type="application/json")

    async def request_logs(request: Request) -> Response:
        tap = dataplane.tap
        monitors = tap.monitors if tap is not None else []
        loggers = [m for m in monitors if isinstance(m, RequestLogger)]
        body = {"request_logs": [entry for m in loggers for entry in m.report()]}
        return Response(orjson.dumps(body), media_type="application/json")

    return [
        Route(DRIFT_PATH, report, methods=["GET"]),
        Route(DRIFT_PATH + "/{model}", report, methods=["GET"]),
        Route(REQUEST_LOG_PATH, request_logs, methods=["GET"]),
    ]
