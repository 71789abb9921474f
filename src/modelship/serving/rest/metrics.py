"""Prometheus scrape endpoints: TF Serving's path and the conventional ``/metrics``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from modelship.serving.metrics import CONTENT_TYPE_LATEST, Metrics

__all__ = ["METRICS_PATHS", "metrics_routes"]

METRICS_PATHS = ("/monitoring/prometheus/metrics", "/metrics")


def metrics_routes(metrics: Metrics) -> list[Route]:
    """GET routes answering Prometheus' text format."""

    async def scrape(request: Request) -> Response:
        return Response(metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [Route(path, scrape, methods=["GET"]) for path in METRICS_PATHS]
