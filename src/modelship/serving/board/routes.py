"""The board's pages: ``/board`` (every model) and ``/board/models/{model}`` (its versions,
lineage, pictures and charts). They read what the status and metadata APIs read, plus the
version's own records (validation verdict, label history, training pictures); no file system
path and no request data is shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from modelship.errors import ModelNotFound, ModelshipError
from modelship.lifecycle.labels import LabelsFile
from modelship.lineage import version_records
from modelship.serving.board.charts import chart
from modelship.serving.board.history import MetricsHistory
from modelship.serving.dataplane import DataPlane
from modelship.serving.inference import ModelSpec
from modelship.serving.requestlog import RequestLogger

__all__ = ["BOARD_PATH", "board_routes", "redirect_browsers"]

BOARD_PATH = "/board"
# The pictures training writes into a version, the only files the board serves.
PICTURES = ("training_curve.png", "confusion_matrix.png", "predictions.png")
_TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def redirect_browsers(app: ASGIApp) -> ASGIApp:
    """``GET /`` from a browser (Accept: text/html) goes to the board; API clients still get
    the JSON liveness answer."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] == "GET":
            accept = dict(scope["headers"]).get(b"accept", b"")
            if b"text/html" in accept:
                await RedirectResponse(BOARD_PATH, status_code=307)(scope, receive, send)
                return
        await app(scope, receive, send)

    return wrapped


def _model_summary(dataplane: DataPlane, history: MetricsHistory, name: str) -> dict[str, Any]:
    entry = dataplane.registry.model(name)
    statuses = dataplane.status(ModelSpec(name))
    series = history.series(name)
    return {
        "name": name,
        "versions": [{"version": s.version, "state": s.state} for s in statuses],
        "labels": dict(sorted(entry.labels.items())),
        "rate": chart(series.rate, 1.0),
        "p99": chart(series.p99_ms, 1.0),
        "p50": chart(series.p50_ms, 1.0),
        "drift": {v: chart(values, 0.3) for v, values in series.drift.items()},
    }


def _versions(dataplane: DataPlane, name: str) -> tuple[list[dict[str, Any]], list[Any]]:
    entry = dataplane.registry.model(name)
    records = {r.version: r for r in version_records(entry.base_path)}
    try:
        history = LabelsFile.read(entry.base_path).history
    except ModelshipError:  # a broken labels file must not hide the versions
        history = []
    answer = []
    for status in dataplane.status(ModelSpec(name)):
        served = entry.versions.get(status.version)
        record = records.get(status.version)
        lineage = dataplane.lineage(served) if served is not None else {}
        manifest = record.manifest if record is not None else {}
        answer.append(
            {
                "version": status.version,
                "state": status.state,
                "error": status.error_message,
                "labels": sorted(k for k, v in entry.labels.items() if v == status.version),
                "lineage": lineage,
                "parameters": manifest.get("parameters", {}),
                "validation": record.validation_summary() if record else "not validated",
                "pictures": [
                    p for p in PICTURES if record is not None and (record.path / p).is_file()
                ],
            }
        )
    return answer, history


def _request_log(dataplane: DataPlane, name: str) -> dict[str, Any] | None:
    """The model's request log (``logging_config``) as /monitoring/request_log reports it."""
    tap = dataplane.tap
    for monitor in tap.monitors if tap is not None else []:
        if isinstance(monitor, RequestLogger):
            for entry in monitor.report():
                if entry["model"] == name:
                    return {k: v for k, v in entry.items() if k != "files"}
    return None


def board_routes(dataplane: DataPlane, history: MetricsHistory) -> list[Route]:
    """The board's routes; ``history`` feeds the charts."""

    async def index(request: Request) -> Response:
        models = [
            _model_summary(dataplane, history, entry.name)
            for entry in sorted(dataplane.registry.models(), key=lambda e: e.name)
        ]
        return _TEMPLATES.TemplateResponse(request, "index.html", {"models": models})

    async def model(request: Request) -> Response:
        name = request.path_params["model"]
        try:
            summary = _model_summary(dataplane, history, name)
            versions, label_history = _versions(dataplane, name)
        except ModelNotFound:
            return _TEMPLATES.TemplateResponse(
                request, "missing.html", {"what": f"model {name}"}, status_code=404
            )
        context = {
            "model": summary,
            "versions": versions,
            "label_history": label_history,
            "request_log": _request_log(dataplane, name),
        }
        return _TEMPLATES.TemplateResponse(request, "model.html", context)

    async def picture(request: Request) -> Response:
        name, picture = request.path_params["model"], request.path_params["picture"]
        version = request.path_params["version"]
        try:
            entry = dataplane.registry.model(name)
        except ModelNotFound:
            entry = None
        served = entry.versions.get(int(version)) if entry and version.isdigit() else None
        path = served.path / picture if served is not None and picture in PICTURES else None
        if path is None or not path.is_file():
            what = f"picture {picture} of {name} version {version}"
            return _TEMPLATES.TemplateResponse(
                request, "missing.html", {"what": what}, status_code=404
            )
        return FileResponse(path, media_type="image/png")

    return [
        Route(BOARD_PATH, index, methods=["GET"]),
        Route(BOARD_PATH + "/models/{model}", model, methods=["GET"]),
        Route(
            BOARD_PATH + "/models/{model}/versions/{version}/{picture}", picture, methods=["GET"]
        ),
    ]
