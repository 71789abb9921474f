"""``--ssl_config_file``: the gRPC server speaks TLS with the key and certificate of TF
Serving's ``SSLConfig`` text proto, on a real ``modelship serve`` process."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from modelship.errors import BadConfig
from modelship.protos import (
    tfs_model_pb2,
    tfs_model_service_pb2,
    tfs_model_service_pb2_grpc,
)
from modelship.serving.grpc.tls import read_ssl_config
from tests.conftest import RunningServer, ToyModel, start_server, stop_server

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="needs the openssl command")


def _certificate(tmp: Path, name: str = "server") -> tuple[str, str]:
    """A fresh self-signed key and certificate for 127.0.0.1, as PEM texts."""
    assert OPENSSL is not None
    key, cert = tmp / f"{name}-key.pem", tmp / f"{name}-cert.pem"
    subprocess.run(
        [
            OPENSSL,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            f"/CN=modelship-test-{name}",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return key.read_text(), cert.read_text()


@pytest.fixture(scope="module")
def tls_server(
    toy_model: ToyModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, str]]:
    tmp = tmp_path_factory.mktemp("tls")
    key, cert = _certificate(tmp)
    config = tmp / "ssl.config"
    # Text-proto strings take the same escapes as JSON's for these ASCII PEM texts.
    config.write_text(f"server_key: {json.dumps(key)}\nserver_cert: {json.dumps(cert)}\n")
    server = start_server(
        [
            "--model_name=toy",
            f"--model_base_path={toy_model.base_path}",
            f"--ssl_config_file={config}",
        ],
        "toy",
        tmp,
    )
    yield server, cert
    stop_server(server)


def _status(channel: grpc.Channel) -> tfs_model_service_pb2.GetModelStatusResponse:
    stub = tfs_model_service_pb2_grpc.ModelServiceStub(channel)
    request = tfs_model_service_pb2.GetModelStatusRequest(
        model_spec=tfs_model_pb2.ModelSpec(name="toy")
    )
    answer: tfs_model_service_pb2.GetModelStatusResponse = stub.GetModelStatus(request, timeout=10)
    return answer


def test_grpc_answers_over_tls_with_the_configured_certificate(
    tls_server: tuple[RunningServer, str],
) -> None:
    server, cert = tls_server
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.encode())
    with grpc.secure_channel(server.grpc_target, credentials) as channel:
        (status,) = _status(channel).model_version_status
        assert (status.version, status.state) == (1, status.AVAILABLE)
    assert "(TLS)" in server.output()


def test_a_plain_text_client_is_not_served(tls_server: tuple[RunningServer, str]) -> None:
    server, _ = tls_server
    with (
        grpc.insecure_channel(server.grpc_target) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        _status(channel)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_client_verify_serves_only_clients_with_a_certificate_from_custom_ca(
    toy_model: ToyModel, tmp_path: Path
) -> None:
    key, cert = _certificate(tmp_path)
    client_key, client_cert = _certificate(tmp_path, "client")  # its own CA
    config = tmp_path / "ssl.config"
    config.write_text(
        f"server_key: {json.dumps(key)}\nserver_cert: {json.dumps(cert)}\n"
        f"custom_ca: {json.dumps(client_cert)}\nclient_verify: true\n"
    )
    server = start_server(
        [
            "--model_name=toy",
            f"--model_base_path={toy_model.base_path}",
            f"--ssl_config_file={config}",
        ],
        "toy",
        tmp_path,
    )
    try:
        with_cert = grpc.ssl_channel_credentials(
            root_certificates=cert.encode(),
            private_key=client_key.encode(),
            certificate_chain=client_cert.encode(),
        )
        with grpc.secure_channel(server.grpc_target, with_cert) as channel:
            assert _status(channel).model_version_status[0].version == 1
        without = grpc.ssl_channel_credentials(root_certificates=cert.encode())
        with grpc.secure_channel(server.grpc_target, without) as channel:
            with pytest.raises(grpc.RpcError) as caught:
                _status(channel)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        stop_server(server)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('server_key: "k"\n', "server_cert missing"),
        ('server_key: "k" server_cert: "c" client_verify: true\n', "client_verify needs custom_ca"),
        ("server_pem: 1\n", "server_pem"),
    ],
)
def test_a_wrong_ssl_config_says_what_is_wrong(tmp_path: Path, text: str, said: str) -> None:
    config = tmp_path / "ssl.config"
    config.write_text(text)
    with pytest.raises(BadConfig, match=said):
        read_ssl_config(config)
