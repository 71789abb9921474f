"""``modelship models list``: piped or in a narrow terminal, version numbers are never cut."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

from modelship.manifest import Manifest
from tests.conftest import BIN
from tests.fixtures.toy_models import two_in_two_out, write_version

VERSION = 1795961812


def _list(*args: str) -> str:
    done = subprocess.run(
        [str(BIN / "modelship"), "models", "list", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert done.returncode == 0, done.stderr
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    return done.stdout


def test_version_numbers_are_whole_in_80_columns(tmp_path: Path) -> None:
    name = "a_model_with_a_rather_long_descriptive_name"
    for version in (VERSION, VERSION + 1):
        path = write_version(tmp_path / name, version, two_in_two_out())
        manifest = Manifest.read(path)
        metrics = {"test_accuracy": 0.98125, "test_loss": 0.0612, "macro_f1": 0.9799}
        replace(manifest, created_at="2026-11-29T18:30:04+00:00", metrics=metrics).write(path)
    (tmp_path / name / "labels.json").write_text(
        f'{{"labels": {{"stable": {VERSION}, "canary_for_the_long_weekend": {VERSION + 1}}}}}'
    )
    assert str(VERSION + 1) in _list("--repo", str(tmp_path))
    versions = _list(name, "--repo", str(tmp_path))
    assert str(VERSION) in versions
    assert str(VERSION + 1) in versions
