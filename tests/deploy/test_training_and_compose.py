"""The training image publishes a version into a mounted volume; JupyterLab from deploy/compose.yaml
answers with its token and refuses without it."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_port
from tests.deploy.conftest import ROOT, ImageBuilder, docker, readable, wait_until

from modelship.repository import list_versions

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_training_image_trains_one_epoch_into_a_volume(
    images: ImageBuilder, wheelhouse: Path, prefix: str, tmp_path: Path
) -> None:
    built = images.get("training", "--wheelhouse", str(wheelhouse))
    models = tmp_path / "models"
    models.mkdir()
    models.chmod(0o777)  # the image trains as uid 10001
    docker(
        "run", "--rm", "--name", f"{prefix}-train", "-v", f"{models}:/models", built.tag,
        "mnist", "--framework", "torch", "--epochs", "1", "--version", "3", "--output", "/models",
        timeout=900,
    )  # fmt: skip
    assert list_versions(models / "mnist") == [3]
    manifest = json.loads((models / "mnist" / "3" / "modelship.json").read_text())
    assert manifest
    assert (models / "mnist" / "3" / "model.onnx").stat().st_size > 0


def _compose(project: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "-p", project, "-f", str(ROOT / "deploy" / "compose.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
        check=False,
    )


@pytest.fixture
def jupyter(
    images: ImageBuilder, wheelhouse: Path, prefix: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    images.get("jupyter", "--wheelhouse", str(wheelhouse))
    token = os.urandom(16).hex()
    port = free_port()
    notebooks = readable(tmp_path)
    env = {
        "MODELSHIP_IMAGE_PREFIX": prefix,
        "MODELSHIP_TAG": "test",
        "JUPYTER_TOKEN": token,
        "JUPYTER_PORT": str(port),
        "NOTEBOOKS_DIR": str(notebooks),
        "MODELS_DIR": str(notebooks),
    }
    project = f"{prefix}compose"
    up = _compose(project, env, "up", "-d", "jupyter")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                return httpx.get(f"{url}/api/status", timeout=2).status_code in (200, 401, 403)
            except httpx.HTTPError:
                return False

        wait_until(answers, 180, "JupyterLab did not answer", interval=1)
        yield url, token
    finally:
        _compose(project, env, "down", "-v", "--remove-orphans")


def test_compose_jupyter_requires_its_token(jupyter: tuple[str, str]) -> None:
    url, token = jupyter
    with_token = httpx.get(f"{url}/api/status", headers={"Authorization": f"token {token}"})
    assert with_token.status_code == 200
    assert "started" in with_token.json()
    assert httpx.get(f"{url}/api/status").status_code in (401, 403)
    wrong = httpx.get(f"{url}/api/status", headers={"Authorization": "token wrong"})
    assert wrong.status_code in (401, 403)
