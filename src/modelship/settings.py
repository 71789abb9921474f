"""One validated settings object for the server: command-line flag > environment > default.

Flags and environment variables keep TensorFlow Serving's names where the meaning is the same
(``MODEL_NAME``, ``MODEL_BASE_PATH``, ``--rest_api_port``...), so a container or a script written
for TF Serving configures modelship unchanged. modelship's own knobs read ``MODELSHIP_*``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from modelship.codecs.limits import (
    DEFAULT_MAX_IMAGE_PIXELS,
    DEFAULT_MAX_IMAGE_REQUEST_BYTES,
    DEFAULT_MAX_IMAGE_SIDE,
    DEFAULT_MAX_REQUEST_ROWS,
    DEFAULT_MAX_TENSOR_BYTES,
)
from modelship.errors import BadConfig
from modelship.repository import list_versions

__all__ = ["ServeSettings"]


class ServeSettings(BaseSettings):
    """Everything ``modelship serve`` can be told."""

    model_config = SettingsConfigDict(
        env_prefix="MODELSHIP_", extra="ignore", populate_by_name=True
    )

    model_name: str = Field(
        default="default", validation_alias=AliasChoices("model_name", "MODEL_NAME")
    )
    # ``--model_base_path`` is the model's own directory (as TF Serving's flag); the environment
    # variable MODEL_BASE_PATH is the parent of the model directories (as TF Serving's image).
    model_base_path: Path | None = None
    models_root: Path = Field(
        default=Path("/models"), validation_alias=AliasChoices("models_root", "MODEL_BASE_PATH")
    )
    model_config_file: Path | None = None
    rest_api_port: int = Field(default=8501, ge=0, le=65535)
    rest_api_host: str = "0.0.0.0"
    port: int = Field(default=8500, ge=0, le=65535, description="gRPC port; 0 disables gRPC")
    grpc_host: str = "0.0.0.0"
    workers: int = Field(default=0, ge=0, description="worker processes; 0: one per core")
    intra_op_threads: int = Field(default=0, ge=0)
    # A model call estimated under this many microseconds runs on the event loop: a thread
    # hand-off costs more than a tiny model's inference. 0 sends every call to the pool.
    inline_run_micros: float = Field(default=200.0, ge=0.0)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # What one request may declare, checked before anything is allocated: rows, decoded input
    # bytes; and for image models each image's pixels and sides (from its header) and the
    # decoded bytes of all its images.
    max_request_rows: int = Field(default=DEFAULT_MAX_REQUEST_ROWS, ge=1)
    max_tensor_bytes: int = Field(default=DEFAULT_MAX_TENSOR_BYTES, ge=1024)
    max_image_pixels: int = Field(default=DEFAULT_MAX_IMAGE_PIXELS, ge=1)
    max_image_side: int = Field(default=DEFAULT_MAX_IMAGE_SIDE, ge=1)
    max_image_request_bytes: int = Field(default=DEFAULT_MAX_IMAGE_REQUEST_BYTES, ge=1024)
    # Slow and idle HTTP clients: the time a request's headers and body may take to arrive,
    # the time a keep-alive connection may stay idle, and the open connections per worker.
    rest_request_read_timeout_seconds: float = Field(default=60.0, gt=0)
    rest_idle_timeout_seconds: int = Field(default=5, ge=1)
    rest_max_connections: int = Field(default=1000, ge=1)
    # The HTTP server under the REST app: uvicorn (httptools) or granian (Rust).
    http_server: Literal["uvicorn", "granian"] = "uvicorn"
    file_system_poll_wait_seconds: float = Field(default=1.0, ge=0)
    model_config_file_poll_wait_seconds: float = Field(default=0.0, ge=0)
    enable_batching: bool = False
    batching_parameters_file: Path | None = None
    allow_version_labels_for_unavailable_models: bool = False
    # TF Serving's REST options: a deadline on inference (0: none; 30 s as TF Serving's
    # default), CORS headers, and where (whether) Prometheus metrics are served.
    rest_api_timeout_in_ms: int = Field(default=30_000, ge=0)
    rest_api_enable_cors_support: bool = False
    monitoring_config_file: Path | None = None
    # TF Serving's gRPC options: a UNIX socket beside (or instead of) the port, server
    # arguments, a cap on concurrent calls (0: none), and the standard health service.
    grpc_socket_path: Path | None = None
    grpc_channel_arguments: str = ""
    grpc_max_threads: int = Field(default=0, ge=0)
    # Slow and idle gRPC clients, as for REST: the time a connection's TLS and HTTP/2
    # handshake may take, the time it may stay without calls, the open connections per worker
    # and the calls in flight on one connection.
    grpc_handshake_timeout_seconds: float = Field(default=20.0, gt=0)
    grpc_idle_timeout_seconds: float = Field(default=300.0, gt=0)
    grpc_max_connections: int = Field(default=1000, ge=1)
    grpc_max_concurrent_streams: int = Field(default=256, ge=1)
    enable_grpc_healthcheck_service: bool = True
    # TLS for gRPC: an SSLConfig text proto with the PEM key and certificate.
    ssl_config_file: Path | None = None
    # TensorFlow runtime: inter-op threads (0: one, as beside --intra_op_threads) and the
    # tags of the SavedModel meta graph to load.
    inter_op_threads: int = Field(default=0, ge=0)
    # TF Serving's: when set and neither thread count is, it sets both.
    tensorflow_session_parallelism: int = Field(default=0, ge=0)
    saved_model_tags: str = "serve"
    # TF Serving's: whether versions warm up before serving, and how many times each record of
    # a version's tf_serving_warmup_requests runs.
    enable_model_warmup: bool = True
    num_request_iterations_for_warmup: int = Field(default=1, ge=0)
    # Where runtimes compute: auto (a GPU when the runtime's framework sees one), cpu, cuda[:N].
    device: str = "auto"
    # Live drift of inputs and predicted classes against each version's training statistics:
    # the share of requests summarised, and the last sampled rows compared (half to all of
    # drift_window_rows: two buckets of half that, the older dropped when a new one is full).
    enable_drift_monitoring: bool = True
    drift_sampling_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    drift_window_rows: int = Field(default=1000, ge=1, le=100_000)
    drift_min_rows: int = Field(default=100, ge=1)
    # The model board: HTML pages of the models, versions, lineage and live charts at /board.
    enable_model_board: bool = True
    # Request logs (a model config's logging_config) start a new file past this size.
    request_log_max_file_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    log_level: str = "info"

    @model_validator(mode="after")
    def _session_parallelism(self) -> ServeSettings:
        # TF Serving's rule: session parallelism stands for both pools unless one is set.
        parallelism = self.tensorflow_session_parallelism
        if parallelism and self.intra_op_threads and self.inter_op_threads:
            raise ValueError(
                "set either --tensorflow_session_parallelism or the intra-op and inter-op "
                "thread counts, not all three"
            )
        if parallelism and not (self.intra_op_threads or self.inter_op_threads):
            self.intra_op_threads = self.inter_op_threads = parallelism
        return self

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        from modelship.devices import parse_device

        try:
            return str(parse_device(value))
        except BadConfig as exc:
            raise ValueError(exc.message) from None

    def meta_graph_tags(self) -> tuple[str, ...]:
        """``--saved_model_tags`` as a tuple (``serve,gpu`` -> ``("serve", "gpu")``)."""
        return tuple(tag.strip() for tag in self.saved_model_tags.split(",") if tag.strip())

    def worker_count(self) -> int:
        """How many worker processes to run (``--workers``, else one per core)."""
        return self.workers or os.cpu_count() or 1

    @field_validator("model_base_path", "models_root", mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return Path(os.path.expanduser(str(value))) if value not in (None, "") else None

    def resolved_base_path(self) -> Path:
        """The model's own directory: the flag, else ``$MODEL_BASE_PATH/$MODEL_NAME``.

        When ``$MODEL_BASE_PATH`` itself holds the integer versions (a common slip), it is used.
        """
        if self.model_base_path is not None:
            return self.model_base_path
        nested = self.models_root / self.model_name
        if not nested.exists() and list_versions(self.models_root):
            return self.models_root
        return nested
