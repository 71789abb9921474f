"""Runs the server: settings -> registry -> dataplane -> REST app on uvicorn, gRPC beside it."""

from __future__ import annotations

import logging

import uvicorn

from modelship.lifecycle import start_lifecycle
from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.grpc.server import grpc_lifespan
from modelship.serving.rest.app import build_app
from modelship.settings import ServeSettings

__all__ = ["build_dataplane", "serve"]

logger = logging.getLogger("modelship.serve")


def build_dataplane(settings: ServeSettings) -> DataPlane:
    """A dataplane with the configured models loaded and watched; BadConfig if one cannot serve."""
    registry = Registry()
    dataplane = DataPlane(registry, ThreadExecutor())
    dataplane.lifecycle = start_lifecycle(registry, settings)  # polls the repository from now on
    return dataplane


def serve(settings: ServeSettings) -> None:
    """Load the models and serve them until interrupted (SIGINT/SIGTERM drain and exit 0)."""
    dataplane = build_dataplane(settings)
    app = build_app(dataplane, settings.max_body_bytes, lifespan=grpc_lifespan(dataplane, settings))
    config = uvicorn.Config(
        app,
        host=settings.rest_api_host,
        port=settings.rest_api_port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
    )
    logger.info(
        "REST API for %s at http://%s:%d/v1/models/%s",
        settings.model_name,
        settings.rest_api_host,
        settings.rest_api_port,
        settings.model_name,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        if dataplane.lifecycle is not None:
            dataplane.lifecycle.stop()
        dataplane.executor.close()
        for entry in dataplane.registry.models():
            for served in entry.versions.values():
                served.unload()
