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
from modelship.errors import ModelshipError
from modelship.settings import ServeSettings

err = Console(stderr=True)


def _flag(*names: str, help: str) -> Any:
    # escape: the help is rendered as rich markup, which would swallow "[env MODEL_NAME]"
    return typer.Option(*names, help=escape(help), show_default=False)


def settings_from_flags(flags: dict[str, Any]) -> ServeSettings:
    """The server's settings from ``serve``'s parsed flags.

    A flag left out arrives as ``None`` and is dropped, so the environment or the default
    decides; any value given on the command line, ``False`` included, wins over both.

    Raises:
        ValidationError: a value is out of range or of the wrong type.
    """
    return ServeSettings(**{name: value for name, value in flags.items() if value is not None})


@app.command()
def serve(
    model_name: Annotated[
        str | None, _flag("--model_name", "--model-name", help="Model name [env MODEL_NAME]")
    ] = None,
    model_base_path: Annotated[
        Path | None,
        _flag(
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
    max_image_pixels: Annotated[
        int | None,
        _flag(
            "--max_image_pixels",
            "--max-image-pixels",
            help="Largest b64 image, width x height [40000000]",
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
        _flag(
            "--batching_parameters_file",
            "--batching-parameters-file",
            help="BatchingParameters text proto (max_batch_size, batch_timeout_micros, ...)",
        ),
    ] = None,
    log_level: Annotated[str | None, _flag("--log_level", "--log-level", help="Log level")] = None,
    model_config_file: Annotated[
        Path | None,
        _flag(
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
) -> None:
    """Serve a model's versions with TensorFlow Serving's REST and gRPC APIs."""
    try:
        settings = settings_from_flags(locals())
    except ValidationError as exc:
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(2) from None
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from modelship.serving.server import serve as run_server

    try:
        run_server(settings)
    except ModelshipError as exc:
        # escape: messages hold brackets (pip extras) that rich would read as markup
        err.print(f"[red]modelship serve:[/red] {escape(exc.message)}")
        sys.exit(1)
