"""A model that cannot load never stops the others: ``serve`` exits only when nothing can serve,
and ``model_platform`` picks the runtime when a version holds several artifacts."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BIN, free_port, start_server, stop_server
from tests.fixtures.toy_models import two_in_two_out, write_version


def _broken(base: Path) -> Path:
    (base / "1").mkdir(parents=True)
    (base / "1" / "model.onnx").write_bytes(b"not an onnx graph")
    return base


def test_serve_exits_non_zero_with_the_reason_when_no_model_can_serve(tmp_path: Path) -> None:
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list { "
        f"config {{ name: 'one' base_path: '{_broken(tmp_path / 'one')}' }} "
        f"config {{ name: 'two' base_path: '{_broken(tmp_path / 'two')}' }} }}"
    )
    done = subprocess.run(
        [
            str(BIN / "modelship"),
            "serve",
            "--model_config_file",
            str(config),
            "--rest_api_port",
            str(free_port()),
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "cannot serve one version 1" in done.stderr
    assert "cannot serve two version 1" in done.stderr


def test_a_reload_with_a_broken_model_keeps_the_healthy_ones(tmp_path: Path) -> None:
    write_version(tmp_path / "pair", 1, two_in_two_out())
    config = tmp_path / "models.config"
    config.write_text(
        f"model_config_list {{ config {{ name: 'pair' base_path: '{tmp_path / 'pair'}' }} }}"
    )
    server = start_server(
        [
            "--model_config_file",
            str(config),
            "--model_config_file_poll_wait_seconds",
            "0.2",
        ],
        "pair",
        tmp_path,
    )
    try:
        config.write_text(
            "model_config_list { "
            f"config {{ name: 'pair' base_path: '{tmp_path / 'pair'}' }} "
            f"config {{ name: 'broken' base_path: '{_broken(tmp_path / 'broken')}' }} }}"
        )
        for _ in range(200):
            answer = httpx.get(f"{server.url}/v1/models/broken", timeout=5)
            if (
                answer.status_code == 200
                and answer.json()["model_version_status"][0]["state"] == "END"
            ):
                break
            time.sleep(0.1)
        (version,) = answer.json()["model_version_status"]
        assert version["state"] == "END"
        assert "cannot load" in version["status"]["error_message"]
        body = {"instances": [{"a": [1, 2, 3], "b": [1, 1, 1]}]}
        answer = httpx.post(f"{server.url}/v1/models/pair:predict", json=body, timeout=10)
        assert answer.json()["predictions"][0]["sum"] == [2, 3, 4]
        assert server.process.poll() is None
    finally:
        stop_server(server)


@pytest.mark.tensorflow
def test_model_platform_serves_a_savedmodel_beside_a_broken_model_onnx(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    from tests.fixtures.tf_models import write_pair_savedmodel

    version = write_pair_savedmodel(tmp_path / "pair" / "1")
    (version / "model.onnx").write_bytes(b"what a failed conversion left behind")
    config = tmp_path / "models.config"
    config.write_text(
        "model_config_list { config { "
        f"name: 'pair' base_path: '{tmp_path / 'pair'}' model_platform: 'tensorflow' }} }}"
    )
    server = start_server(["--model_config_file", str(config)], "pair", tmp_path, timeout=120)
    try:
        body = {"signature_name": "norm", "instances": [[0.0, 0.0, 4.0]]}
        answer = httpx.post(f"{server.url}/v1/models/pair:predict", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [pytest.approx(1.0)]
    finally:
        stop_server(server)
