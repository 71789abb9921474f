"""TF Serving's ``--ssl_config_file``: TLS for the gRPC server.

The file is an ``SSLConfig`` text proto holding the PEM texts themselves (not paths), as in
TF Serving::

    server_key: "-----BEGIN PRIVATE KEY-----\\n..."
    server_cert: "-----BEGIN CERTIFICATE-----\\n..."
    custom_ca: "..."        # optional: the CA that client certificates chain to
    client_verify: true     # optional: require a client certificate

As in TF Serving it secures gRPC (TCP port and UNIX socket); the REST port stays plain HTTP.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
from google.protobuf import text_format

from modelship.errors import BadConfig
from modelship.protos import ssl_config_pb2 as pb

__all__ = ["read_ssl_config", "server_credentials"]


def read_ssl_config(path: Path) -> Any:
    """Parse ``path`` into an ``SSLConfig`` message."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise BadConfig(f"cannot read --ssl_config_file {path}: {exc.strerror}") from exc
    config = pb.SSLConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as exc:
        raise BadConfig(f"{path}: {exc}") from exc
    missing = [name for name in ("server_key", "server_cert") if not getattr(config, name)]
    if missing:
        raise BadConfig(f"{path}: {' and '.join(missing)} missing (the PEM text itself)")
    if config.client_verify and not config.custom_ca:
        raise BadConfig(
            f"{path}: client_verify needs custom_ca, the CA that client certificates chain to"
        )
    return config


def server_credentials(path: Path) -> grpc.ServerCredentials:
    """The gRPC server credentials that ``path`` (an ``SSLConfig`` text proto) describes."""
    config = read_ssl_config(path)
    return grpc.ssl_server_credentials(
        [(config.server_key.encode(), config.server_cert.encode())],
        root_certificates=config.custom_ca.encode() or None,
        require_client_auth=config.client_verify,
    )
