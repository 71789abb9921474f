"""The validation report: every check with its value and threshold, as JSON and as a table.

``validation.json`` is written into the candidate's version directory, where ``modelship
promote`` and ``modelship models show`` read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

__all__ = ["REPORT_NAME", "Check", "Report"]

REPORT_NAME = "validation.json"


@dataclass
class Check:
    """One check: ``passed`` is ``None`` when it was skipped (nothing to compare with)."""

    kind: str  # data | model | differential
    name: str
    passed: bool | None
    value: Any
    threshold: Any
    detail: str = ""


@dataclass
class Report:
    """The outcome of ``modelship validate``."""

    candidate: str
    against: str | None
    data: dict[str, Any]
    thresholds: dict[str, float]
    checks: list[Check] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""

    @property
    def passed(self) -> bool:
        return all(check.passed is not False for check in self.checks)

    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.passed is False]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        return data

    def write(self, directory: Path) -> Path:
        path = directory / REPORT_NAME
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        return path

    @classmethod
    def read(cls, directory: Path) -> Report | None:
        """The report in ``directory``, or ``None`` if the version was never validated."""
        path = directory / REPORT_NAME
        if not path.is_file():
            return None
        data = json.loads(path.read_text())
        data.pop("passed", None)
        data["checks"] = [Check(**c) for c in data.get("checks", [])]
        return cls(**data)

    def table(self) -> Table:
        verdict = "[green]PASSED[/green]" if self.passed else "[red]FAILED[/red]"
        table = Table(title=f"validation of {self.candidate}: {verdict}")
        for column in ("kind", "check", "result", "value", "threshold", "detail"):
            table.add_column(column)
        for check in self.checks:
            result = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "skip"}
            table.add_row(
                check.kind,
                check.name,
                result[check.passed],
                _show(check.value),
                _show(check.threshold),
                check.detail,
            )
        return table


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
