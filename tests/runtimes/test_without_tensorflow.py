"""The serving install without TensorFlow: ONNX versions serve, SavedModels say what to install.

"Without TensorFlow" is a ``tensorflow`` package on ``PYTHONPATH`` whose import fails exactly as
a missing package does, so these tests hold whether or not TensorFlow is installed here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import ToyModel, start_server, stop_server

HINT = "pip install 'modelship[tensorflow]'"


def _shadow_env(tmp: Path) -> dict[str, str]:
    shadow = tmp / "no-tensorflow"
    (shadow / "tensorflow").mkdir(parents=True, exist_ok=True)
    (shadow / "tensorflow" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tensorflow'\", name='tensorflow')\n"
    )
    return {"PYTHONPATH": str(shadow)}


def _savedmodel_only(tmp: Path) -> Path:
    """A version directory that only TensorFlow could serve (its content is never read)."""
    version = tmp / "tfonly" / "1"
    (version / "variables").mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"\x08\x01")
    return version


def _run(code: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_serving_an_onnx_version_never_imports_tensorflow(toy_model: ToyModel) -> None:
    # TensorFlow may well be installed here: what matters is that nothing imports it.
    out = _run(
        f"""
        import sys
        import numpy as np
        import modelship.cli.commands, modelship.serving.server, modelship.lifecycle
        from pathlib import Path
        from modelship.runtimes import load_runtime
        runtime = load_runtime(Path({str(toy_model.base_path / "1")!r}))
        out = runtime.predict("serving_default", {{"images": np.zeros((2, 784), "float32")}})
        print(runtime.name, out["probabilities"].shape)
        print("tensorflow" in sys.modules, "keras" in sys.modules)
        """
    )
    assert out.split("\n")[:2] == ["onnx (2, 10)", "False False"]


def test_savedmodel_status_names_the_extra(tmp_path: Path) -> None:
    version = _savedmodel_only(tmp_path)
    out = _run(
        f"""
        from pathlib import Path
        from modelship.errors import ModelshipError
        from modelship.runtimes import load_runtime
        try:
            load_runtime(Path({str(version)!r}))
        except ModelshipError as exc:
            print(exc.code)
            print(exc.message)
        """,
        _shadow_env(tmp_path),
    )
    code, message = out.split("\n", 1)
    assert code == "FAILED_PRECONDITION"  # what the version's status reports
    assert HINT in message


def test_serve_says_what_to_install_at_start(tmp_path: Path) -> None:
    version = _savedmodel_only(tmp_path)
    with pytest.raises(RuntimeError) as failed:
        start_server(
            ["--model_name", "tfonly", "--model_base_path", str(version.parent)],
            "tfonly",
            tmp_path,
            env=_shadow_env(tmp_path),
        )
    assert "exited with 1" in str(failed.value)
    assert HINT in " ".join(str(failed.value).split())


def test_serve_onnx_without_tensorflow(toy_model: ToyModel, tmp_path: Path) -> None:
    server = start_server(
        ["--model_name", "toy", "--model_base_path", str(toy_model.base_path)],
        "toy",
        tmp_path,
        env=_shadow_env(tmp_path),
    )
    try:
        answer = httpx.post(
            f"{server.url}/v1/models/toy:predict",
            content=orjson.dumps({"instances": [[0.5] * 784]}),
            timeout=10,
        )
        assert answer.status_code == 200
        assert len(answer.json()["predictions"][0]) == 10
    finally:
        stop_server(server)


def test_new_savedmodel_version_reports_the_extra_while_onnx_keeps_serving(
    toy_model: ToyModel, tmp_path: Path
) -> None:
    base = tmp_path / "toy"
    shutil.copytree(toy_model.base_path, base)
    server = start_server(
        ["--model_name", "toy", "--model_base_path", str(base)],
        "toy",
        tmp_path,
        env=_shadow_env(tmp_path),
    )
    try:
        # Published as exporters do: complete under a hidden name, then renamed into place.
        staged = _savedmodel_only(tmp_path / "staging")
        os.rename(staged, base / "2")
        status: dict[str, Any] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answer = httpx.get(f"{server.url}/v1/models/toy/versions/2", timeout=10)
            if answer.status_code == 200:
                (status,) = answer.json()["model_version_status"]
                if status["state"] == "END":
                    break
            time.sleep(0.2)
        assert status.get("state") == "END", status
        assert status["status"]["error_code"] == "FAILED_PRECONDITION"
        assert HINT in status["status"]["error_message"]
        answer = httpx.post(
            f"{server.url}/v1/models/toy:predict",
            content=orjson.dumps({"instances": [[0.5] * 784]}),
            timeout=10,
        )
        assert answer.status_code == 200
        assert answer.headers["x-model-version"] == "1"
    finally:
        stop_server(server)


def test_tensorflow_chosen_beside_an_onnx_file_serves_the_onnx_export_with_a_warning(
    toy_model: ToyModel, tmp_path: Path
) -> None:
    """A TF Serving config says model_platform "tensorflow"; without TensorFlow the version's
    model.onnx serves it, and the log says why."""
    version = _savedmodel_only(tmp_path)
    shutil.copy(toy_model.base_path / "1" / "model.onnx", version)
    out = _run(
        f"""
        import logging, sys
        from pathlib import Path
        from modelship.runtimes import load_runtime
        logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(message)s")
        runtime = load_runtime(Path({str(version)!r}), "tensorflow")
        print("served by", runtime.name)
        """,
        _shadow_env(tmp_path),
    )
    assert "served by onnx" in out
    assert HINT in out
    assert "model_platform 'onnx'" in out
