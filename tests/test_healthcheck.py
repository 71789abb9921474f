"""The container health check against a real server: healthy only with an AVAILABLE version."""

from __future__ import annotations

import subprocess
import sys

import pytest

from modelship.healthcheck import check
from tests.conftest import RunningServer, free_port


def test_available_model_is_healthy(toy_server: RunningServer) -> None:
    healthy, reason = check(toy_server.url, "toy")
    assert healthy
    assert "1" in reason


def test_unknown_model_is_unhealthy(toy_server: RunningServer) -> None:
    healthy, reason = check(toy_server.url, "absent")
    assert not healthy
    assert "404" in reason


def test_no_server_is_unhealthy() -> None:
    healthy, reason = check(f"http://127.0.0.1:{free_port()}", "toy", timeout=1)
    assert not healthy
    assert "unreachable" in reason


@pytest.mark.parametrize(("model", "code"), [("toy", 0), ("absent", 1)])
def test_module_exit_code(toy_server: RunningServer, model: str, code: int) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modelship.healthcheck"],
        env={"MODEL_NAME": model, "MODELSHIP_HEALTHCHECK_URL": toy_server.url},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == code, done.stdout + done.stderr


def test_the_probe_imports_only_the_standard_library_it_needs() -> None:
    # The version lookup (importlib.metadata) waits until someone asks for __version__.
    code = (
        "import sys, modelship.healthcheck; "
        "print(sorted(m for m in ('importlib.metadata', 'typer', 'pydantic', 'numpy') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
