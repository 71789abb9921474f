"""Prometheus scrape endpoints: TF Serving's path and the conventional ``/metrics``."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelship.serving.metrics import CONTENT_TYPE_LATEST, Metrics
from modelship.serving.monitoring import DEFAULT_METRICS_PATHS

__all__ = ["METRICS_PATHS", "metrics_routes"]

METRICS_PATHS = DEFAULT_METRICS_PATHS


def metrics_routes(metrics: Metrics, paths: Sequence[str] = METRICS_PATHS) -> list[Route]:
    """GET routes answering Prometheus' text format at ``paths`` (none: no endpoint)."""

    async def scrape(request: Request) -> Response:
        return Response(metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [Route(path, scrape, methods=["GET"]) for path in paths]
