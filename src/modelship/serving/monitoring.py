"""TF Serving's ``--monitoring_config_file``: whether and where Prometheus metrics are served.
Without the flag, metrics are at TF Serving's path and at ``/metrics``.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format

from modelship.errors import BadConfig
from modelship.protos import monitoring_config_pb2 as pb

__all__ = ["DEFAULT_METRICS_PATHS", "TF_SERVING_METRICS_PATH", "metrics_paths"]

TF_SERVING_METRICS_PATH = "/monitoring/prometheus/metrics"
DEFAULT_METRICS_PATHS = (TF_SERVING_METRICS_PATH, "/metrics")


def parse_monitoring_config(text: str, origin: str = "<monitoring config>") -> tuple[str, ...]:
    """The metrics paths a ``MonitoringConfig`` text proto asks for (none when disabled)."""
    message = pb.MonitoringConfig()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        raise BadConfig(f"{origin}: {exc}") from exc
    prometheus = message.prometheus_config
    if not prometheus.enable:
        return ()
    path = prometheus.path or TF_SERVING_METRICS_PATH
    if not path.startswith("/"):
        raise BadConfig(f'{origin}: prometheus_config path must start with "/", got {path!r}')
    return (path,)


def metrics_paths(config_file: Path | None) -> tuple[str, ...]:
    """Where to serve metrics: the defaults without a file, else what the file says."""
    if config_file is None:
        return DEFAULT_METRICS_PATHS
    try:
        text = config_file.read_text()
    except OSError as exc:
        raise BadConfig(
            f"cannot read --monitoring_config_file {config_file}: {exc.strerror}"
        ) from exc
    return parse_monitoring_config(text, origin=str(config_file))
