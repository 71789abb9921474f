"""``modelship info``: the devices each installed framework sees."""

from __future__ import annotations

import json

import torch
from typer.testing import CliRunner

from modelship.cli import _register, app


def test_info_lists_each_framework_and_its_devices() -> None:
    _register()
    answer = CliRunner().invoke(app, ["info", "--json"])
    assert answer.exit_code == 0, answer.output
    report = json.loads(answer.output)
    frameworks = {f["framework"]: f for f in report["frameworks"]}
    assert set(frameworks) == {"torch", "tensorflow", "onnxruntime"}
    assert len(frameworks["torch"]["gpus"]) == torch.cuda.device_count()
    assert "CPUExecutionProvider" in frameworks["onnxruntime"]["providers"]


def test_the_table_names_every_framework() -> None:
    _register()
    answer = CliRunner().invoke(app, ["info"], env={"COLUMNS": "200"})
    assert answer.exit_code == 0, answer.output
    for name in ("torch", "tensorflow", "onnxruntime", "CPUExecutionProvider"):
        assert name in answer.output
