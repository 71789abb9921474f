"""The images build on the debootstrap base, and the serving image answers like a local server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from tests.conftest import start_server, stop_server
from tests.deploy.conftest import ImageBuilder, ModelDir, docker, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SERVING_LIMIT_BYTES = 350_000_000


def test_base_image_is_debian_python_311(base_image: str) -> None:
    done = docker(
        "run",
        "--rm",
        base_image,
        "python3",
        "-c",
        "import sys, venv; print(sys.version_info[:2], sys.executable)",
    )
    assert done.stdout.split(")")[0] == "(3, 11"
    assert "/usr/bin/python3" in done.stdout


def test_serving_image_is_small_and_has_no_training_framework(images: ImageBuilder) -> None:
    built = images.get("serving")
    assert built.size_bytes <= SERVING_LIMIT_BYTES, f"{built.size_bytes / 1e6:.0f} MB"
    probe = (
        "import importlib.util as u, os; "
        "print(os.getuid(), [m for m in ('torch', 'tensorflow', 'keras') if u.find_spec(m)])"
    )
    done = docker("run", "--rm", "--entrypoint", "python3", built.tag, "-c", probe)
    assert done.stdout.split() == ["10001", "[]"]


@pytest.fixture(scope="module")
def serving_container(
    images: ImageBuilder, prefix: str, toy_versions: dict[int, ModelDir]
) -> Iterator[str]:
    """The serving image with the toy model mounted read-only, on a free 127.0.0.1 port."""
    name = f"{prefix}-serving"
    model = toy_versions[1]
    docker(
        "run", "-d", "--name", name, "-p", "127.0.0.1::8501", "--read-only", "--tmpfs", "/tmp",
        "-v", f"{model.base_path}:/models/{model.name}:ro", "-e", f"MODEL_NAME={model.name}",
        images.get("serving").tag,
    )  # fmt: skip
    try:
        wait_until(
            lambda: (
                docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip()
                == "healthy"
            ),
            120,
            "the serving container did not become healthy",
        )
        address = docker("port", name, "8501/tcp").stdout.splitlines()[0].strip()
        yield f"http://{address}"
    finally:
        docker("rm", "-f", name, check=False)


def test_container_predicts_like_the_local_server(
    serving_container: str, toy_versions: dict[int, ModelDir], tmp_path: Path
) -> None:
    model = toy_versions[1]
    local = start_server(
        ["--model_name", model.name, "--model_base_path", str(model.base_path)],
        model.name,
        tmp_path,
    )
    try:
        instances = np.random.default_rng(7).random((5, 784)).round(4).tolist()
        body = {"instances": instances}
        path = f"/v1/models/{model.name}:predict"
        ours = httpx.post(serving_container + path, json=body, timeout=30)
        theirs = httpx.post(local.url + path, json=body, timeout=30)
    finally:
        stop_server(local)
    assert ours.status_code == 200, ours.text
    assert ours.headers["x-modelship-replica"]
    assert np.asarray(ours.json()["predictions"]).shape == (5, 10)
    np.testing.assert_allclose(ours.json()["predictions"], theirs.json()["predictions"], atol=1e-6)


def test_container_reports_model_state(serving_container: str) -> None:
    status = httpx.get(f"{serving_container}/v1/models/toy", timeout=10).json()
    assert status["model_version_status"][0]["version"] == "1"
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    missing = httpx.get(f"{serving_container}/v1/models/absent", timeout=10)
    assert missing.status_code == 404
    assert "error" in missing.json()


def test_health_check_fails_without_a_model(images: ImageBuilder, prefix: str) -> None:
    """No AVAILABLE version, no health: the server refuses to start on an empty repository."""
    name = f"{prefix}-empty"
    docker("run", "-d", "--name", name, "-e", "MODEL_NAME=none", images.get("serving").tag)
    try:
        wait_until(
            lambda: (
                docker("inspect", "-f", "{{.State.Status}}", name).stdout.strip() != "running"
                or docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip()
                == "unhealthy"
            ),
            90,
            "a serving container without a model kept running as healthy",
        )
        state = json.loads(docker("inspect", "-f", "{{json .State}}", name).stdout)
        assert state["Status"] != "running" or state["Health"]["Status"] == "unhealthy"
        assert state.get("Health", {}).get("Status") != "healthy"
    finally:
        docker("rm", "-f", name, check=False)
