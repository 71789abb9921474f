"""The flags of ``modelship serve``, each an annotated type: TF Serving's names first, then
modelship's own; ``None`` means "not given", so the environment or the default decides."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def _flag(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help, show_default=False)


def _path(value: str) -> Path | None:
    # TF Serving's scripts write "--monitoring_config_file=" for "no file": not the directory "."
    return Path(value) if value else None


def _file_flag(*names: str, help: str) -> Any:
    return typer.Option(*names, help=help, show_default=False, parser=_path)


ModelNameFlag = Annotated[
    str | None, _flag("--model_name", "--model-name", help="Model name [env MODEL_NAME]")
]
ModelBasePathFlag = Annotated[
    Path | None,
    _file_flag(
        "--model_base_path",
        "--model-base-path",
        help="Directory of numbered versions [default $MODEL_BASE_PATH/$MODEL_NAME]",
    ),
]
PortFlag = Annotated[int | None, _flag("--port", help="gRPC port [8500]; 0 disables gRPC")]
RestApiPortFlag = Annotated[
    int | None, _flag("--rest_api_port", "--rest-api-port", help="REST port [8501]")
]
RestApiHostFlag = Annotated[
    str | None, _flag("--rest_api_host", "--rest-api-host", help="REST bind address [0.0.0.0]")
]
GrpcHostFlag = Annotated[
    str | None, _flag("--grpc_host", "--grpc-host", help="gRPC bind address [0.0.0.0]")
]
MaxBodyBytesFlag = Annotated[
    int | None, _flag("--max_body_bytes", "--max-body-bytes", help="Largest request body")
]
MaxRequestRowsFlag = Annotated[
    int | None,
    _flag("--max_request_rows", "--max-request-rows", help="Most rows per request [65536]"),
]
MaxTensorBytesFlag = Annotated[
    int | None,
    _flag(
        "--max_tensor_bytes",
        "--max-tensor-bytes",
        help="Most decoded input bytes per request, checked before decoding [268435456]",
    ),
]
MaxImagePixelsFlag = Annotated[
    int | None,
    _flag(
        "--max_image_pixels",
        "--max-image-pixels",
        help="Largest b64 image, width x height [40000000]",
    ),
]
MaxImageSideFlag = Annotated[
    int | None,
    _flag("--max_image_side", "--max-image-side", help="Longest image side [16384]"),
]
MaxImageRequestBytesFlag = Annotated[
    int | None,
    _flag(
        "--max_image_request_bytes",
        "--max-image-request-bytes",
        help="Most decoded bytes of one request's images together [536870912]",
    ),
]
RestRequestReadTimeoutSecondsFlag = Annotated[
    float | None,
    _flag(
        "--rest_request_read_timeout_seconds",
        "--rest-request-read-timeout-seconds",
        help="Seconds a request's headers and body may take to arrive; slower: 408 [60]",
    ),
]
RestIdleTimeoutSecondsFlag = Annotated[
    int | None,
    _flag(
        "--rest_idle_timeout_seconds",
        "--rest-idle-timeout-seconds",
        help="Seconds an idle keep-alive REST connection stays open [5]",
    ),
]
RestMaxConnectionsFlag = Annotated[
    int | None,
    _flag(
        "--rest_max_connections",
        "--rest-max-connections",
        help="Open REST connections per worker; more are answered 503 and closed [1000]",
    ),
]
HttpServerFlag = Annotated[
    str | None,
    _flag(
        "--http_server",
        "--http-server",
        help="HTTP server under the REST API: uvicorn or granian (Rust; see the README) "
        "[env MODELSHIP_HTTP_SERVER; uvicorn]",
    ),
]
IntraOpThreadsFlag = Annotated[
    int | None,
    _flag(
        "--intra_op_threads",
        "--intra-op-threads",
        "--tensorflow_intra_op_parallelism",
        help="Intra-op threads of the ONNX or TensorFlow runtime (0: the cores shared "
        "among the workers; one for an ONNX model that runs an example in under 0.5 ms)",
    ),
]
WorkersFlag = Annotated[
    int | None,
    _flag("--workers", help="Worker processes sharing the ports (0: one per core) [0]"),
]
EnableBatchingFlag = Annotated[
    bool | None,
    _flag(
        # The "off" names let a command line turn off what the environment turned on.
        "--enable_batching/--no_enable_batching",
        "--enable-batching/--no-enable-batching",
        help="Merge concurrent requests into batches [env MODELSHIP_ENABLE_BATCHING]",
    ),
]
BatchingParametersFileFlag = Annotated[
    Path | None,
    _file_flag(
        "--batching_parameters_file",
        "--batching-parameters-file",
        help="BatchingParameters text proto (max_batch_size, batch_timeout_micros, ...)",
    ),
]
LogLevelFlag = Annotated[str | None, _flag("--log_level", "--log-level", help="Log level")]
ModelConfigFileFlag = Annotated[
    Path | None,
    _file_flag(
        "--model_config_file",
        "--model-config-file",
        help="ModelServerConfig text proto: several models, policies, labels",
    ),
]
FileSystemPollWaitSecondsFlag = Annotated[
    float | None,
    _flag(
        "--file_system_poll_wait_seconds",
        "--file-system-poll-wait-seconds",
        help="Seconds between scans for new versions; 0 scans once [1]",
    ),
]
ModelConfigFilePollWaitSecondsFlag = Annotated[
    float | None,
    _flag(
        "--model_config_file_poll_wait_seconds",
        "--model-config-file-poll-wait-seconds",
        help="Seconds between re-reads of --model_config_file; 0 reads it once [0]",
    ),
]
AllowVersionLabelsForUnavailableModelsFlag = Annotated[
    bool | None,
    _flag(
        "--allow_version_labels_for_unavailable_models"
        "/--no_allow_version_labels_for_unavailable_models",
        "--allow-version-labels-for-unavailable-models"
        "/--no-allow-version-labels-for-unavailable-models",
        help="Let a label point at a version that is not AVAILABLE",
    ),
]
RestApiTimeoutInMsFlag = Annotated[
    int | None,
    _flag(
        "--rest_api_timeout_in_ms",
        "--rest-api-timeout-in-ms",
        help="Deadline of a REST inference, in ms; longer ones answer 504; 0: none [30000]",
    ),
]
RestApiEnableCorsSupportFlag = Annotated[
    bool | None,
    _flag(
        "--rest_api_enable_cors_support/--no_rest_api_enable_cors_support",
        "--rest-api-enable-cors-support/--no-rest-api-enable-cors-support",
        help="Answer CORS preflights and add CORS headers to REST answers",
    ),
]
MonitoringConfigFileFlag = Annotated[
    Path | None,
    _file_flag(
        "--monitoring_config_file",
        "--monitoring-config-file",
        help="MonitoringConfig text proto: prometheus_config { enable: true path: ... } "
        "[metrics at /monitoring/prometheus/metrics and /metrics]",
    ),
]
GrpcSocketPathFlag = Annotated[
    Path | None,
    _file_flag(
        "--grpc_socket_path",
        "--grpc-socket-path",
        help="Also serve gRPC on this UNIX socket (with --port=0: only there)",
    ),
]
GrpcChannelArgumentsFlag = Annotated[
    str | None,
    _flag(
        "--grpc_channel_arguments",
        "--grpc-channel-arguments",
        help="gRPC server arguments: key=value,... (e.g. grpc.max_connection_age_ms=2000)",
    ),
]
SslConfigFileFlag = Annotated[
    Path | None,
    _file_flag(
        "--ssl_config_file",
        "--ssl-config-file",
        help="SSLConfig text proto (server_key, server_cert PEM; custom_ca, client_verify): "
        "gRPC over TLS",
    ),
]
GrpcMaxThreadsFlag = Annotated[
    int | None,
    _flag(
        "--grpc_max_threads",
        "--grpc-max-threads",
        help="Most gRPC calls served at once per worker; more answer RESOURCE_EXHAUSTED "
        "[0: no limit]",
    ),
]
GrpcHandshakeTimeoutSecondsFlag = Annotated[
    float | None,
    _flag(
        "--grpc_handshake_timeout_seconds",
        "--grpc-handshake-timeout-seconds",
        help="Seconds a gRPC connection's TLS and HTTP/2 handshake may take; slower: closed [20]",
    ),
]
GrpcIdleTimeoutSecondsFlag = Annotated[
    float | None,
    _flag(
        "--grpc_idle_timeout_seconds",
        "--grpc-idle-timeout-seconds",
        help="Seconds a gRPC connection may stay without calls before it is closed "
        "(GOAWAY; clients reconnect) [300]",
    ),
]
GrpcMaxConnectionsFlag = Annotated[
    int | None,
    _flag(
        "--grpc_max_connections",
        "--grpc-max-connections",
        help="Open gRPC connections per worker; more are closed at once [1000]",
    ),
]
GrpcMaxConcurrentStreamsFlag = Annotated[
    int | None,
    _flag(
        "--grpc_max_concurrent_streams",
        "--grpc-max-concurrent-streams",
        help="gRPC calls in flight on one connection; the client queues more [256]",
    ),
]
EnableGrpcHealthcheckServiceFlag = Annotated[
    bool | None,
    _flag(
        "--enable_grpc_healthcheck_service/--no_enable_grpc_healthcheck_service",
        "--enable-grpc-healthcheck-service/--no-enable-grpc-healthcheck-service",
        help="Serve grpc.health.v1.Health [on]",
    ),
]
InterOpThreadsFlag = Annotated[
    int | None,
    _flag(
        "--inter_op_threads",
        "--inter-op-threads",
        "--tensorflow_inter_op_parallelism",
        help="Inter-op threads of the TensorFlow runtime [0: one]",
    ),
]
TensorflowSessionParallelismFlag = Annotated[
    int | None,
    _flag(
        "--tensorflow_session_parallelism",
        "--tensorflow-session-parallelism",
        help="Both thread counts of the TensorFlow runtime, when neither is set [0]",
    ),
]
SavedModelTagsFlag = Annotated[
    str | None,
    _flag(
        "--saved_model_tags",
        "--saved-model-tags",
        help="Comma-separated tags of the SavedModel meta graph to load [serve]",
    ),
]
EnableModelWarmupFlag = Annotated[
    bool | None,
    _flag(
        "--enable_model_warmup/--no_enable_model_warmup",
        "--enable-model-warmup/--no-enable-model-warmup",
        help="Run each version's warm-up requests before it serves [on]",
    ),
]
NumRequestIterationsForWarmupFlag = Annotated[
    int | None,
    _flag(
        "--num_request_iterations_for_warmup",
        "--num-request-iterations-for-warmup",
        help="Times each record of a version's assets.extra/tf_serving_warmup_requests "
        "runs before the version serves [1]",
    ),
]
DeviceFlag = Annotated[
    str | None,
    _flag(
        "--device",
        help="Where models compute: auto (a GPU when the runtime sees one), cpu, cuda[:N] "
        "[env MODELSHIP_DEVICE; auto]",
    ),
]
EnableDriftMonitoringFlag = Annotated[
    bool | None,
    _flag(
        "--enable_drift_monitoring/--no_enable_drift_monitoring",
        "--enable-drift-monitoring/--no-enable-drift-monitoring",
        help="Compare sampled inputs and predicted classes with each version's training "
        "statistics (modelship_input_drift, /monitoring/drift) [on]",
    ),
]
DriftSamplingRateFlag = Annotated[
    float | None,
    _flag(
        "--drift_sampling_rate",
        "--drift-sampling-rate",
        help="Share of requests summarised for drift, in [0, 1] [0.05]",
    ),
]
DriftWindowRowsFlag = Annotated[
    int | None,
    _flag(
        "--drift_window_rows",
        "--drift-window-rows",
        help="Drift compares the last half to all of this many sampled rows per version [1000]",
    ),
]
DriftMinRowsFlag = Annotated[
    int | None,
    _flag(
        "--drift_min_rows",
        "--drift-min-rows",
        help="Sampled rows a version needs before its drift is reported [100]",
    ),
]
EnableModelBoardFlag = Annotated[
    bool | None,
    _flag(
        "--enable_model_board/--no_enable_model_board",
        "--enable-model-board/--no-enable-model-board",
        help="Serve the model board (HTML) at /board; a browser's GET / goes there [on]",
    ),
]
RequestLogMaxFileBytesFlag = Annotated[
    int | None,
    _flag(
        "--request_log_max_file_bytes",
        "--request-log-max-file-bytes",
        help="A request log (a model config's logging_config) starts a new file past this "
        "size [64 MiB]",
    ),
]
