"""``modelship serve``: TF Serving's flags, modelship's server."""

from __future__ import annotations

import logging
import sys
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from modelship.cli import app
from modelship.cli.serve_flags import (
    AllowVersionLabelsForUnavailableModelsFlag,
    BatchingParametersFileFlag,
    DeviceFlag,
    DriftMinRowsFlag,
    DriftSamplingRateFlag,
    DriftWindowRowsFlag,
    EnableBatchingFlag,
    EnableDriftMonitoringFlag,
    EnableGrpcHealthcheckServiceFlag,
    EnableModelBoardFlag,
    EnableModelWarmupFlag,
    FileSystemPollWaitSecondsFlag,
    GrpcChannelArgumentsFlag,
    GrpcHandshakeTimeoutSecondsFlag,
    GrpcHostFlag,
    GrpcIdleTimeoutSecondsFlag,
    GrpcMaxConcurrentStreamsFlag,
    GrpcMaxConnectionsFlag,
    GrpcMaxThreadsFlag,
    GrpcSocketPathFlag,
    HttpServerFlag,
    InterOpThreadsFlag,
    IntraOpThreadsFlag,
    LogLevelFlag,
    MaxBodyBytesFlag,
    MaxImagePixelsFlag,
    MaxImageRequestBytesFlag,
    MaxImageSideFlag,
    MaxRequestRowsFlag,
    MaxTensorBytesFlag,
    ModelBasePathFlag,
    ModelConfigFileFlag,
    ModelConfigFilePollWaitSecondsFlag,
    ModelNameFlag,
    MonitoringConfigFileFlag,
    NumRequestIterationsForWarmupFlag,
    PortFlag,
    RequestLogMaxFileBytesFlag,
    RestApiEnableCorsSupportFlag,
    RestApiHostFlag,
    RestApiPortFlag,
    RestApiTimeoutInMsFlag,
    RestIdleTimeoutSecondsFlag,
    RestMaxConnectionsFlag,
    RestRequestReadTimeoutSecondsFlag,
    SavedModelTagsFlag,
    SslConfigFileFlag,
    TensorflowSessionParallelismFlag,
    WorkersFlag,
)
from modelship.cli.tf_serving_flags import read_compat_flags
from modelship.errors import BadConfig, ModelshipError
from modelship.settings import ServeSettings

err = Console(stderr=True)


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
    model_name: ModelNameFlag = None,
    model_base_path: ModelBasePathFlag = None,
    port: PortFlag = None,
    rest_api_port: RestApiPortFlag = None,
    rest_api_host: RestApiHostFlag = None,
    grpc_host: GrpcHostFlag = None,
    max_body_bytes: MaxBodyBytesFlag = None,
    max_request_rows: MaxRequestRowsFlag = None,
    max_tensor_bytes: MaxTensorBytesFlag = None,
    max_image_pixels: MaxImagePixelsFlag = None,
    max_image_side: MaxImageSideFlag = None,
    max_image_request_bytes: MaxImageRequestBytesFlag = None,
    rest_request_read_timeout_seconds: RestRequestReadTimeoutSecondsFlag = None,
    rest_idle_timeout_seconds: RestIdleTimeoutSecondsFlag = None,
    rest_max_connections: RestMaxConnectionsFlag = None,
    http_server: HttpServerFlag = None,
    intra_op_threads: IntraOpThreadsFlag = None,
    workers: WorkersFlag = None,
    enable_batching: EnableBatchingFlag = None,
    batching_parameters_file: BatchingParametersFileFlag = None,
    log_level: LogLevelFlag = None,
    model_config_file: ModelConfigFileFlag = None,
    file_system_poll_wait_seconds: FileSystemPollWaitSecondsFlag = None,
    model_config_file_poll_wait_seconds: ModelConfigFilePollWaitSecondsFlag = None,
    allow_version_labels_for_unavailable_models: AllowVersionLabelsForUnavailableModelsFlag = None,
    rest_api_timeout_in_ms: RestApiTimeoutInMsFlag = None,
    rest_api_enable_cors_support: RestApiEnableCorsSupportFlag = None,
    monitoring_config_file: MonitoringConfigFileFlag = None,
    grpc_socket_path: GrpcSocketPathFlag = None,
    grpc_channel_arguments: GrpcChannelArgumentsFlag = None,
    ssl_config_file: SslConfigFileFlag = None,
    grpc_max_threads: GrpcMaxThreadsFlag = None,
    grpc_handshake_timeout_seconds: GrpcHandshakeTimeoutSecondsFlag = None,
    grpc_idle_timeout_seconds: GrpcIdleTimeoutSecondsFlag = None,
    grpc_max_connections: GrpcMaxConnectionsFlag = None,
    grpc_max_concurrent_streams: GrpcMaxConcurrentStreamsFlag = None,
    enable_grpc_healthcheck_service: EnableGrpcHealthcheckServiceFlag = None,
    inter_op_threads: InterOpThreadsFlag = None,
    tensorflow_session_parallelism: TensorflowSessionParallelismFlag = None,
    saved_model_tags: SavedModelTagsFlag = None,
    enable_model_warmup: EnableModelWarmupFlag = None,
    num_request_iterations_for_warmup: NumRequestIterationsForWarmupFlag = None,
    device: DeviceFlag = None,
    enable_drift_monitoring: EnableDriftMonitoringFlag = None,
    drift_sampling_rate: DriftSamplingRateFlag = None,
    drift_window_rows: DriftWindowRowsFlag = None,
    drift_min_rows: DriftMinRowsFlag = None,
    enable_model_board: EnableModelBoardFlag = None,
    request_log_max_file_bytes: RequestLogMaxFileBytesFlag = None,
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
