"""``modelship serve``: TF Serving's flags, modelship's server."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from modelship.cli import app
from modelship.cli.tf_serving_flags import read_compat_flags
from modelship.errors import BadConfig, ModelshipError
from modelship.settings import ServeSettings

err = Console(stderr=True)


def _flag(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help, show_default=False)


def _path(value: str) -> Path | None:
    # TF Serving's scripts write "--monitoring_config_file=" for "no file": not the directory "."
    return Path(value) if value else None


def _file_flag(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help, show_default=False, parser=_path)


def settings_from_flags(flags: dict[str, Any]) -> ServeSettings:
    """The server's settings from ``serve``'s parsed flags.

    A flag left out arrives as ``None`` and is dropped, so the environment or the default
    decides; any value given on the command line, ``False`` included, wins over both.

    Raises:
        ValidationError: a value is out of range or of the wrong type.
    """
    return ServeSettings(**{name: value for name, value in flags.items() if value is not None})


def _print_version(value: bool) -> None:
    if value:
        from modelship import __version__

        typer.echo(f"modelship {__version__} (TensorFlow Serving's REST and gRPC APIs)")
        raise typer.Exit()


# TF Serving's flags that mean nothing here reach the command as extra arguments, and are
# accepted with a warning or refused by modelship.cli.tf_serving_flags.
@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def serve(
    ctx: typer.Context,
    model_name: Annotated[
        str | None, _flag("--model_name", "--model-name", help="Model name [env MODEL_NAME]")
    ] = None,
    model_base_path: Annotated[
        Path | None,
        _file_flag(
            "--model_base_path",
            "--model-base-path",
            help="Directory of numbered versions [default $MODEL_BASE_PATH/$MODEL_NAME]",
        ),
    ] = None,
    port: Annotated[int | None, _flag("--port", help="gRPC port [8500]; 0 disables gRPC")] = None,
    rest_api_port: Annotated[
        int | None, _flag("--rest_api_port", "--rest-api-port", help="REST port [8501]")
    ] = None,
    rest_api_host: Annotated[
        str | None, _flag("--rest_api_host", "--rest-api-host", help="REST bind address [0.0.0.0]")
    ] = None,
    grpc_host: Annotated[
        str | None, _flag("--grpc_host", "--grpc-host", help="gRPC bind address [0.0.0.0]")
    ] = None,
    max_body_bytes: Annotated[
        int | None, _flag("--max_body_bytes", "--max-body-bytes", help="Largest request body")
    ] = None,
    max_request_rows: Annotated[
        int | None,
        _flag("--max_request_rows", "--max-request-rows", help="Most rows per request [65536]"),
    ] = None,
    max_tensor_bytes: Annotated[
        int | None,
        _flag(
            "--max_tensor_bytes",
            "--max-tensor-bytes",
            help="Most decoded input bytes per request, checked before decoding [268435456]",
        ),
    ] = None,
    max_image_pixels: Annotated[
        int | None,
        _flag(
            "--max_image_pixels",
            "--max-image-pixels",
            help="Largest b64 image, width x height [40000000]",
        ),
    ] = None,
    max_image_side: Annotated[
        int | None,
        _flag("--max_image_side", "--max-image-side", help="Longest image side [16384]"),
    ] = None,
    max_image_request_bytes: Annotated[
        int | None,
        _flag(
            "--max_image_request_bytes",
            "--max-image-request-bytes",
            help="Most decoded bytes of one request's images together [536870912]",
        ),
    ] = None,
    rest_request_read_timeout_seconds: Annotated[
        float | None,
        _flag(
            "--rest_request_read_timeout_seconds",
            "--rest-request-read-timeout-seconds",
            help="Seconds a request's headers and body may take to arrive; slower: 408 [60]",
        ),
    ] = None,
    rest_idle_timeout_seconds: Annotated[
        int | None,
        _flag(
            "--rest_idle_timeout_seconds",
            "--rest-idle-timeout-seconds",
            help="Seconds an idle keep-alive REST connection stays open [5]",
        ),
    ] = None,
    rest_max_connections: Annotated[
        int | None,
        _flag(
            "--rest_max_connections",
            "--rest-max-connections",
            help="Open REST connections per worker; more are answered 503 and closed [1000]",
        ),
    ] = None,
    intra_op_threads: Annotated[
        int | None,
        _flag(
            "--intra_op_threads",
            "--intra-op-threads",
            "--tensorflow_intra_op_parallelism",
            help="Intra-op threads of the ONNX or TensorFlow runtime (0: the cores shared "
            "among the workers; one for an ONNX model that runs an example in under 0.5 ms)",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        _flag("--workers", help="Worker processes sharing the ports (0: one per core) [0]"),
    ] = None,
    enable_batching: Annotated[
        bool | None,
        _flag(
            # The "off" names let a command line turn off what the environment turned on.
            "--enable_batching/--no_enable_batching",
            "--enable-batching/--no-enable-batching",
            help="Merge concurrent requests into batches [env MODELSHIP_ENABLE_BATCHING]",
        ),
    ] = None,
    batching_parameters_file: Annotated[
        Path | None,
        _file_flag(
            "--batching_parameters_file",
            "--batching-parameters-file",
            help="BatchingParameters text proto (max_batch_size, batch_timeout_micros, ...)",
        ),
    ] = None,
    log_level: Annotated[str | None, _flag("--log_level", "--log-level", help="Log level")] = None,
    model_config_file: Annotated[
        Path | None,
        _file_flag(
            "--model_config_file",
            "--model-config-file",
            help="ModelServerConfig text proto: several models, policies, labels",
        ),
    ] = None,
    file_system_poll_wait_seconds: Annotated[
        float | None,
        _flag(
            "--file_system_poll_wait_seconds",
            "--file-system-poll-wait-seconds",
            help="Seconds between scans for new versions; 0 scans once [1]",
        ),
    ] = None,
    model_config_file_poll_wait_seconds: Annotated[
        float | None,
        _flag(
            "--model_config_file_poll_wait_seconds",
            "--model-config-file-poll-wait-seconds",
            help="Seconds between re-reads of --model_config_file; 0 reads it once [0]",
        ),
    ] = None,
    allow_version_labels_for_unavailable_models: Annotated[
        bool | None,
        _flag(
            "--allow_version_labels_for_unavailable_models"
            "/--no_allow_version_labels_for_unavailable_models",
            "--allow-version-labels-for-unavailable-models"
            "/--no-allow-version-labels-for-unavailable-models",
            help="Let a label point at a version that is not AVAILABLE",
        ),
    ] = None,
    rest_api_timeout_in_ms: Annotated[
        int | None,
        _flag(
            "--rest_api_timeout_in_ms",
            "--rest-api-timeout-in-ms",
            help="Deadline of a REST inference, in ms; longer ones answer 504; 0: none [30000]",
        ),
    ] = None,
    rest_api_enable_cors_support: Annotated[
        bool | None,
        _flag(
            "--rest_api_enable_cors_support/--no_rest_api_enable_cors_support",
            "--rest-api-enable-cors-support/--no-rest-api-enable-cors-support",
            help="Answer CORS preflights and add CORS headers to REST answers",
        ),
    ] = None,
    monitoring_config_file: Annotated[
        Path | None,
        _file_flag(
            "--monitoring_config_file",
            "--monitoring-config-file",
            help="MonitoringConfig text proto: prometheus_config { enable: true path: ... } "
            "[metrics at /monitoring/prometheus/metrics and /metrics]",
        ),
    ] = None,
    grpc_socket_path: Annotated[
        Path | None,
        _file_flag(
            "--grpc_socket_path",
            "--grpc-socket-path",
            help="Also serve gRPC on this UNIX socket (with --port=0: only there)",
        ),
    ] = None,
    grpc_channel_arguments: Annotated[
        str | None,
        _flag(
            "--grpc_channel_arguments",
            "--grpc-channel-arguments",
            help="gRPC server arguments: key=value,... (e.g. grpc.max_connection_age_ms=2000)",
        ),
    ] = None,
    ssl_config_file: Annotated[
        Path | None,
        _file_flag(
            "--ssl_config_file",
            "--ssl-config-file",
            help="SSLConfig text proto (server_key, server_cert PEM; custom_ca, client_verify): "
            "gRPC over TLS",
        ),
    ] = None,
    grpc_max_threads: Annotated[
        int | None,
        _flag(
            "--grpc_max_threads",
            "--grpc-max-threads",
            help="Most gRPC calls served at once per worker; more answer RESOURCE_EXHAUSTED "
            "[0: no limit]",
        ),
    ] = None,
    grpc_handshake_timeout_seconds: Annotated[
        float | None,
        _flag(
            "--grpc_handshake_timeout_seconds",
            "--grpc-handshake-timeout-seconds",
            help="Seconds a gRPC connection's TLS and HTTP/2 handshake may take; slower: "
            "closed [20]",
        ),
    ] = None,
    grpc_idle_timeout_seconds: Annotated[
        float | None,
        _flag(
            "--grpc_idle_timeout_seconds",
            "--grpc-idle-timeout-seconds",
            help="Seconds a gRPC connection may stay without calls before it is closed "
            "(GOAWAY; clients reconnect) [300]",
        ),
    ] = None,
    grpc_max_connections: Annotated[
        int | None,
        _flag(
            "--grpc_max_connections",
            "--grpc-max-connections",
            help="Open gRPC connections per worker; more are closed at once [1000]",
        ),
    ] = None,
    grpc_max_concurrent_streams: Annotated[
        int | None,
        _flag(
            "--grpc_max_concurrent_streams",
            "--grpc-max-concurrent-streams",
            help="gRPC calls in flight on one connection; the client queues more [256]",
        ),
    ] = None,
    enable_grpc_healthcheck_service: Annotated[
        bool | None,
        _flag(
            "--enable_grpc_healthcheck_service/--no_enable_grpc_healthcheck_service",
            "--enable-grpc-healthcheck-service/--no-enable-grpc-healthcheck-service",
            help="Serve grpc.health.v1.Health [on]",
        ),
    ] = None,
    inter_op_threads: Annotated[
        int | None,
        _flag(
            "--inter_op_threads",
            "--inter-op-threads",
            "--tensorflow_inter_op_parallelism",
            help="Inter-op threads of the TensorFlow runtime [0: one]",
        ),
    ] = None,
    tensorflow_session_parallelism: Annotated[
        int | None,
        _flag(
            "--tensorflow_session_parallelism",
            "--tensorflow-session-parallelism",
            help="Both thread counts of the TensorFlow runtime, when neither is set [0]",
        ),
    ] = None,
    saved_model_tags: Annotated[
        str | None,
        _flag(
            "--saved_model_tags",
            "--saved-model-tags",
            help="Comma-separated tags of the SavedModel meta graph to load [serve]",
        ),
    ] = None,
    enable_model_warmup: Annotated[
        bool | None,
        _flag(
            "--enable_model_warmup/--no_enable_model_warmup",
            "--enable-model-warmup/--no-enable-model-warmup",
            help="Run each version's warm-up requests before it serves [on]",
        ),
    ] = None,
    num_request_iterations_for_warmup: Annotated[
        int | None,
        _flag(
            "--num_request_iterations_for_warmup",
            "--num-request-iterations-for-warmup",
            help="Times each record of a version's assets.extra/tf_serving_warmup_requests "
            "runs before the version serves [1]",
        ),
    ] = None,
    device: Annotated[
        str | None,
        _flag(
            "--device",
            help="Where models compute: auto (a GPU when the runtime sees one), cpu, cuda[:N] "
            "[env MODELSHIP_DEVICE; auto]",
        ),
    ] = None,
    enable_drift_monitoring: Annotated[
        bool | None,
        _flag(
            "--enable_drift_monitoring/--no_enable_drift_monitoring",
            "--enable-drift-monitoring/--no-enable-drift-monitoring",
            help="Compare sampled inputs and predicted classes with each version's training "
            "statistics (modelship_input_drift, /monitoring/drift) [on]",
        ),
    ] = None,
    drift_sampling_rate: Annotated[
        float | None,
        _flag(
            "--drift_sampling_rate",
            "--drift-sampling-rate",
            help="Share of requests summarised for drift, in [0, 1] [0.05]",
        ),
    ] = None,
    drift_window_rows: Annotated[
        int | None,
        _flag(
            "--drift_window_rows",
            "--drift-window-rows",
            help="Drift compares the last half to all of this many sampled rows per version [1000]",
        ),
    ] = None,
    drift_min_rows: Annotated[
        int | None,
        _flag(
            "--drift_min_rows",
            "--drift-min-rows",
            help="Sampled rows a version needs before its drift is reported [100]",
        ),
    ] = None,
    enable_model_board: Annotated[
        bool | None,
        _flag(
            "--enable_model_board/--no_enable_model_board",
            "--enable-model-board/--no-enable-model-board",
            help="Serve the model board (HTML) at /board; a browser's GET / goes there [on]",
        ),
    ] = None,
    request_log_max_file_bytes: Annotated[
        int | None,
        _flag(
            "--request_log_max_file_bytes",
            "--request-log-max-file-bytes",
            help="A request log (a model config's logging_config) starts a new file past this "
            "size [64 MiB]",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Serve a model's versions with TensorFlow Serving's REST and gRPC APIs.

    TF Serving's other flags are accepted too: those that mean nothing here (TPU, TFLite, GPU,
    TF session files...) with a warning, those that cannot be ignored safely
    (use_alts_credentials) refused with the reason.
    """
    flags = {k: v for k, v in locals().items() if k not in ("ctx", "version")}
    try:
        warnings = read_compat_flags(ctx.args)
        settings = settings_from_flags(flags)
    except BadConfig as exc:
        err.print(f"[red]modelship serve:[/red] {escape(exc.message)}")
        raise typer.Exit(2) from None
    except ValidationError as exc:
        err.print(f"[red]invalid settings:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for line in warnings:
        logging.getLogger("modelship.serve").warning("%s", line)
    from modelship.serving.server import serve as run_server

    try:
        run_server(settings)
    except ModelshipError as exc:
        # escape: messages hold brackets (pip extras) that rich would read as markup
        err.print(f"[red]modelship serve:[/red] {escape(exc.message)}")
        sys.exit(1)
