"""Runs the server: settings -> registry -> dataplane -> REST app on uvicorn (or granian),
gRPC beside it.

With one worker everything runs in this process. With several, :mod:`.workers.supervisor`
starts worker processes that each run :func:`run_worker`: each loads the models and binds the
same port with ``SO_REUSEPORT``, so the kernel spreads connections over them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import AsyncIterator, Callable
from types import FrameType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from modelship.codecs.limits import RequestLimits
from modelship.devices import serving_device
from modelship.lifecycle import start_lifecycle
from modelship.lifecycle.config import ModelConfig
from modelship.registry import Registry
from modelship.serving.batcher import BatchingExecutor
from modelship.serving.batching_params import read_batching_parameters
from modelship.serving.dataplane import DataPlane
from modelship.serving.drift import DriftMonitor
from modelship.serving.executor import InferenceExecutor, ThreadExecutor
from modelship.serving.grpc.server import grpc_lifespan, parse_channel_arguments
from modelship.serving.grpc.tls import read_ssl_config
from modelship.serving.looplag import LoopLagMonitor
from modelship.serving.metrics import Metrics
from modelship.serving.monitoring import metrics_paths
from modelship.serving.preprocess import ImageDecoder
from modelship.serving.requestlog import RequestLogger
from modelship.serving.rest.app import build_app
from modelship.serving.rest.connections import DrainingServer, guarded_protocol
from modelship.serving.rest.granian_server import check_granian_settings, serve_on_granian
from modelship.serving.tap import Monitor, RequestTap
from modelship.serving.workers.group import WorkerGroup
from modelship.serving.workers.supervisor import Supervisor, bind_socket
from modelship.serving.workers.sync import GroupSync
from modelship.settings import ServeSettings

__all__ = [
    "bind_socket",
    "build_dataplane",
    "build_executor",
    "run_worker",
    "serve",
    "worker_lifespan",
]

logger = logging.getLogger("modelship.serve")

# Connections beyond what a worker can answer wait in the kernel, not in Python.
_BACKLOG = 2048


def build_executor(settings: ServeSettings, metrics: Metrics | None = None) -> InferenceExecutor:
    """The batching executor when ``--enable_batching``, else one request per runtime call."""
    if settings.enable_batching:
        params = read_batching_parameters(settings.batching_parameters_file)
        return BatchingExecutor(params, metrics)
    return ThreadExecutor(inline_seconds=settings.inline_run_micros / 1e6)


def build_dataplane(settings: ServeSettings, group: WorkerGroup | None = None) -> DataPlane:
    """A dataplane with the configured models loaded and watched; BadConfig if one cannot serve.

    Args:
        settings: the server's settings.
        group: the worker group this process serves in, when there are several workers.
    """
    registry = Registry()
    metrics = Metrics(registry)
    executor = build_executor(settings, metrics)
    images = ImageDecoder(
        max_pixels=settings.max_image_pixels,
        max_side=settings.max_image_side,
        max_request_bytes=settings.max_image_request_bytes,
    )
    limits = RequestLimits(settings.max_request_rows, settings.max_tensor_bytes)
    dataplane = DataPlane(registry, executor, metrics, images, limits)
    dataplane.tap = build_tap(settings, metrics, dataplane)
    try:
        # Polls the repository from now on.
        coordinator = GroupSync(group) if group is not None else None
        dataplane.lifecycle = start_lifecycle(registry, settings, coordinator)
    except BaseException:
        executor.close()
        if dataplane.tap is not None:
            dataplane.tap.close()
        raise
    return dataplane


def build_tap(settings: ServeSettings, metrics: Metrics, dataplane: DataPlane) -> RequestTap:
    """What samples requests for the monitors: drift (unless off) and the request logs of the
    models whose config has a ``logging_config`` (read afresh, so a reload takes effect)."""

    def configs() -> list[ModelConfig]:
        lifecycle = dataplane.lifecycle
        return lifecycle.source.configs if lifecycle is not None else []

    monitors: list[Monitor] = [RequestLogger(metrics, configs, settings.request_log_max_file_bytes)]
    if settings.enable_drift_monitoring and settings.drift_sampling_rate > 0:
        monitors.append(
            DriftMonitor(
                metrics,
                settings.drift_sampling_rate,
                settings.drift_window_rows,
                settings.drift_min_rows,
            )
        )
    return RequestTap(monitors)


def worker_lifespan(
    dataplane: DataPlane, settings: ServeSettings
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """The worker's lifespan: the gRPC server beside the REST app, and the event-loop lag
    sampled into ``modelship_event_loop_lag_seconds`` while both serve."""
    grpc = grpc_lifespan(dataplane, settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        monitor = LoopLagMonitor(dataplane.metrics.loop_lag)
        monitor.start(asyncio.get_running_loop())
        try:
            async with grpc(app):
                yield
        finally:
            monitor.stop()

    return lifespan


def _exit_after_drain(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _exit_zero_after_drain() -> None:
    """Make a SIGTERM/SIGINT stop end with exit status 0 once uvicorn has drained.

    uvicorn re-raises the signal it caught after its graceful shutdown; with the default
    handlers the process would then die of it (status 143), which process managers and
    ``docker stop`` report as a failure although every request was answered.
    """
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _exit_after_drain)


def run_worker(
    settings: ServeSettings, reuse_port: bool = False, group: WorkerGroup | None = None
) -> None:
    """Load the models and serve them until SIGINT/SIGTERM, which drain and return.

    Args:
        settings: the server's settings.
        reuse_port: share the ports with the other worker processes.
        group: the worker group (shared directory) of those processes.
    """
    # Bind first: a taken port is reported at once, before minutes of model loading.
    sock = bind_socket(settings.rest_api_host, settings.rest_api_port, reuse_port)
    try:
        dataplane = build_dataplane(settings, group)
    except BaseException:
        sock.close()
        raise
    timeout_ms = settings.rest_api_timeout_in_ms
    app = build_app(
        dataplane,
        settings.max_body_bytes,
        lifespan=worker_lifespan(dataplane, settings),
        timeout=timeout_ms / 1000 if timeout_ms else None,
        cors=settings.rest_api_enable_cors_support,
        metrics_paths=metrics_paths(settings.monitoring_config_file),
        board=settings.enable_model_board,
    )
    # Listen before saying so: from here on the kernel queues connections for this worker.
    sock.listen(_BACKLOG)
    host, port = sock.getsockname()[:2]
    names = sorted(entry.name for entry in dataplane.registry.models()) or [settings.model_name]
    shown = names[0] if len(names) == 1 else "{" + ",".join(names) + "}"
    logger.info(
        "REST API at http://%s:%d/v1/models/%s (pid %d, %s)",
        host,
        port,
        shown,
        os.getpid(),
        settings.http_server,
    )
    try:
        if settings.http_server == "granian":
            serve_on_granian(
                app,
                sock,
                read_timeout=settings.rest_request_read_timeout_seconds,
                max_concurrent_requests=settings.rest_max_connections,
                backlog=_BACKLOG,
                log_level=settings.log_level,
            )
        else:
            _serve_on_uvicorn(app, sock, settings)
    finally:
        sock.close()
        lifecycle = dataplane.lifecycle
        if lifecycle is not None:
            lifecycle.stop()
        dataplane.executor.close()
        dataplane.images.close()
        if dataplane.tap is not None:
            dataplane.tap.close()
        if lifecycle is not None:  # drained: no request runs on a version any more
            lifecycle.manager.unload_all()


def _serve_on_uvicorn(app: ASGIApp, sock: socket.socket, settings: ServeSettings) -> None:
    """Serve ``app`` on the listening ``sock`` with uvicorn until SIGTERM/SIGINT, drained."""
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http=guarded_protocol(
            settings.rest_request_read_timeout_seconds, settings.rest_max_connections
        ),
        access_log=False,
        log_level=settings.log_level,
        timeout_graceful_shutdown=30,
        timeout_keep_alive=settings.rest_idle_timeout_seconds,
        backlog=_BACKLOG,
    )
    _exit_zero_after_drain()
    DrainingServer(config, sock).serve_forever()


def serve(settings: ServeSettings) -> None:
    """Serve until interrupted; SIGINT/SIGTERM drain in-flight requests and exit 0.

    Raises:
        BadConfig: a flag or file is wrong, or the models cannot be loaded.
    """
    # Refuse to start on a bad file, before any worker loads models.
    if settings.batching_parameters_file is not None:
        read_batching_parameters(settings.batching_parameters_file)
    metrics_paths(settings.monitoring_config_file)
    parse_channel_arguments(settings.grpc_channel_arguments)
    if settings.ssl_config_file is not None:
        read_ssl_config(settings.ssl_config_file)
    if settings.http_server == "granian":
        check_granian_settings(settings)
    logger.info("device: %s", serving_device(settings.device))
    workers = settings.worker_count()
    if workers == 1:
        run_worker(settings)
        return
    Supervisor(settings, workers, run_worker).run()
