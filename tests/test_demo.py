"""The main job, as ``make demo`` runs it (one epoch to stay quick)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("framework", ["torch", "tensorflow"])
def test_demo_reports_equal_offline_and_rest_accuracy(tmp_path: Path, framework: str) -> None:
    args = ["demo", "--framework", framework, "--epochs", "1", "--output", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, "-m", "modelship", *args],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "offline and REST accuracy are equal" in done.stdout
    rows = [line for line in done.stdout.splitlines() if "offline (exported model)" in line]
    api = [line for line in done.stdout.splitlines() if "REST API" in line and "│" in line]
    assert rows
    assert api
    assert rows[0].split("│")[2].strip() == api[0].split("│")[2].strip()
    versions = [p for p in (tmp_path / "mnist").iterdir() if p.name.isdigit()]
    assert len(versions) == 1
    assert (versions[0] / "model.onnx").is_file()
    assert not list((tmp_path / "mnist").glob(".serve-*.log"))
