"""``modelship validate``, ``promote``, ``rollback`` and ``models`` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, start_server, stop_server
from tests.fixtures.validation_task import Task


def modelship(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "modelship"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": str(BIN)},
    )


def test_validate_promote_rollback_and_lineage(task: Task, tmp_path: Path) -> None:
    # A copy: promote and validate write into the repository, which other tests share.
    shutil.copytree(task.repo, tmp_path / "models")
    repo, model = str(tmp_path / "models"), tmp_path / "models" / "digits"
    serving = str(model / "1")
    good = modelship("validate", str(model / "2"), "--data", str(task.data), "--against", serving)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "PASSED" in good.stdout
    assert json.loads((model / "2" / "validation.json").read_text())["passed"] is True
    bad = modelship("validate", str(model / "3"), "--data", str(task.data), "--against", serving)
    assert bad.returncode == 1
    assert "worst class delta" in bad.stderr
    assert json.loads((model / "3" / "validation.json").read_text())["passed"] is False

    refused = modelship("promote", "digits", "3", "--repo", repo)
    assert refused.returncode == 1
    assert "failed validation" in refused.stderr
    unvalidated = modelship("promote", "digits", "1", "--repo", repo)
    assert unvalidated.returncode == 1
    assert "never validated" in unvalidated.stderr
    assert modelship("promote", "digits", "1", "--repo", repo, "--force").returncode == 0
    assert modelship("promote", "digits", "2", "--repo", repo).returncode == 0
    labels = json.loads((model / "labels.json").read_text())
    assert labels["labels"] == {"stable": 2}
    assert [h["forced"] for h in labels["history"]] == [True, False]

    listed = modelship("models", "list", "digits", "--repo", repo)
    assert listed.returncode == 0, listed.stderr
    rows = {line.split("│")[1].strip(): line for line in listed.stdout.splitlines() if "│" in line}
    assert "passed" in rows["2"]
    assert "stable" in rows["2"]
    assert "FAILED" in rows["3"]
    assert "not validated" in rows["1"]
    assert "test_accuracy=0.9" in rows["1"]
    everything = modelship("models", "list", "--repo", repo)
    assert "stable=2" in everything.stdout
    shown = modelship("models", "show", "digits", "2", "--repo", repo)
    assert "sha256:2" in shown.stdout
    assert "seed: 2" in shown.stdout
    assert "agreement with serving version" in shown.stdout

    back = modelship("rollback", "digits", "--repo", repo)
    assert back.returncode == 0, back.stderr
    assert json.loads((model / "labels.json").read_text())["labels"] == {"stable": 1}
    again = modelship("rollback", "digits", "--repo", repo)
    assert again.returncode == 1
    assert "no earlier version" in again.stderr


def test_validate_against_a_running_server(
    task: Task, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    base = tmp_path / "digits"
    shutil.copytree(task.repo / "digits" / "1", base / "1")
    server = start_server(
        ["--model_name", "digits", "--model_base_path", str(base)], "digits", tmp_path
    )
    try:
        candidate = tmp_path / "candidate"
        shutil.copytree(task.repo / "digits" / "2", candidate)
        url = f"{server.url}/v1/models/digits/versions/1"
        local = modelship("validate", str(candidate), "--data", str(task.data), "--against", url)
    finally:
        stop_server(server)
    assert local.returncode == 0, local.stdout + local.stderr
    report = json.loads((candidate / "validation.json").read_text())
    assert report["against"] == url
    assert report["metrics"]["agreement"] >= 0.9
    missing = modelship("validate", str(candidate), "--data", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "--data" in missing.stderr
