"""The training image publishes a version into a mounted volume; JupyterLab from deploy/compose.yaml
answers with its token and refuses without it, opens the jupytext notebooks as notebooks in
headless chromium, and runs the client notebook's cells against a modelship in the container."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import jupytext
import pytest
import websocket
from PIL import Image
from tests.conftest import free_port
from tests.deploy.conftest import ROOT, ImageBuilder, docker, readable, wait_until
from tests.deploy.devtools import Browser
from tests.fixtures.toy_models import softmax_linear, write_version

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


SCREENSHOT = ROOT / "build" / "jupyterlab.png"
SHAPES = ["circle", "square", "triangle"]


@pytest.fixture
def jupyter(
    images: ImageBuilder, wheelhouse: Path, prefix: str, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """JupyterLab from deploy/compose.yaml with the repository's notebooks and, in its models
    volume, a version of a model named like the client notebook's default (``shapes``)."""
    images.get("jupyter", "--wheelhouse", str(wheelhouse))
    token = os.urandom(16).hex()
    port = free_port()
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for notebook in (ROOT / "notebooks").glob("*.py"):
        (notebooks / notebook.name).write_text(notebook.read_text())
        (notebooks / notebook.name).chmod(0o666)  # JupyterLab (uid 10001) may save them
    models = tmp_path / "models"
    write_version(models / "shapes", 1, softmax_linear(784, 3)[0], labels=SHAPES)
    readable(tmp_path)
    notebooks.chmod(0o777)  # and writes checkpoints next to them
    env = {
        "MODELSHIP_IMAGE_PREFIX": prefix,
        "MODELSHIP_TAG": "test",
        "JUPYTER_TOKEN": token,
        "JUPYTER_PORT": str(port),
        "NOTEBOOKS_DIR": str(notebooks),
        "MODELS_DIR": str(models),
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
        # The live server the client notebook calls: modelship serving beside JupyterLab, at the
        # notebook's default URL (http://localhost:8501).
        serve = _compose(
            project, env, "exec", "-d", "-T", "jupyter", "modelship", "serve",
            "--model_name", "shapes", "--model_base_path", "/workspace/models/shapes",
            "--rest_api_port", "8501", "--port", "8500", "--workers", "1",
        )  # fmt: skip
        assert serve.returncode == 0, serve.stdout + serve.stderr
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


def _kernel_of(url: str, token: str) -> str | None:
    """The id of the idle kernel JupyterLab started for notebooks/client.py, if any yet."""
    headers = {"Authorization": f"token {token}"}
    for session in httpx.get(f"{url}/api/sessions", headers=headers).json():
        kernel = session["kernel"]
        if session["path"] == "notebooks/client.py" and kernel["execution_state"] == "idle":
            return str(kernel["id"])
    return None


def _kernel_run(url: str, token: str, kernel: str, code: str) -> tuple[str, list[str]]:
    """Execute code in a running kernel over the Jupyter server's websocket; (stdout, errors)."""
    ws_url = url.replace("http://", "ws://") + f"/api/kernels/{kernel}/channels?token={token}"
    channel = websocket.create_connection(ws_url, timeout=120, suppress_origin=True)
    try:
        msg_id = os.urandom(8).hex()
        header = {"msg_id": msg_id, "msg_type": "execute_request", "session": msg_id,
                  "username": "test", "version": "5.3", "date": ""}  # fmt: skip
        content = {"code": code, "silent": False, "store_history": False,
                   "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}  # fmt: skip
        channel.send(json.dumps({"header": header, "parent_header": {}, "metadata": {},
                                 "content": content, "channel": "shell"}))  # fmt: skip
        stdout, errors = "", []
        while True:
            message = json.loads(channel.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, body = message["msg_type"], message["content"]
            if kind == "stream" and body["name"] == "stdout":
                stdout += body["text"]
            elif kind == "error":
                errors.append(f"{body['ename']}: {body['evalue']}")
            elif kind == "status" and body["execution_state"] == "idle":
                return stdout, errors
    finally:
        channel.close()


def test_jupyterlab_opens_the_notebooks_and_runs_the_client_in_chromium(
    jupyter: tuple[str, str], tmp_path: Path
) -> None:
    url, token = jupyter
    browser = Browser(tmp_path / "profile", width=1400, height=900)
    try:
        browser.navigate(f"{url}/lab/tree/notebooks/client.py?token={token}")
        # A notebook, not a text editor: every one of jupytext's cells, the markdown rendered.
        source = jupytext.read(ROOT / "notebooks" / "client.py")
        browser.wait_for(
            "document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell').length"
            f" === {len(source.cells)}",
            120,
            f"JupyterLab did not show client.py as a notebook of {len(source.cells)} cells",
        )
        assert browser.evaluate("document.querySelectorAll('.jp-FileEditor').length") == 0
        heading = browser.wait_for(
            "document.querySelector('.jp-MarkdownCell .jp-RenderedMarkdown h1')?.textContent",
            30,
            "the first markdown cell was not rendered",
        )
        assert "Call the image classifier service" in heading
        wait_until(
            lambda: _kernel_of(url, token) is not None, 120, "the notebook's kernel did not start"
        )
        SCREENSHOT.unlink(missing_ok=True)
        browser.screenshot(SCREENSHOT)
        errors = list(browser.errors)
    finally:
        browser.close()
    with Image.open(SCREENSHOT) as image:
        assert image.size == (1400, 900)
        assert len(image.getcolors(1 << 16) or ()) > 16  # drawn, not a blank page
    assert errors == []

    # The kernel JupyterLab started for the notebook runs its first cells against modelship.
    kernel = _kernel_of(url, token)
    assert kernel is not None
    code = [cell.source for cell in source.cells if cell.cell_type == "code"]

    def served() -> bool:
        probe = "import httpx; print(httpx.get('http://localhost:8501/v1/models/shapes').text)"
        return "AVAILABLE" in _kernel_run(url, token, kernel, probe)[0]

    wait_until(served, 60, "modelship did not serve shapes in the JupyterLab container")
    stdout, errors = _kernel_run(url, token, kernel, "\n".join(code[:2]))
    assert errors == []
    assert "http://localhost:8501/v1/models/shapes:predict" in stdout
    assert str(SHAPES) in stdout  # the class names, read from the live server's metadata
