"""What the repository on disk says about each version: manifest, validation, labels.

Read by ``modelship models list|show``; needs no server and no framework.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelship.manifest import MANIFEST_NAME
from modelship.repository import list_versions, version_path

__all__ = ["VersionRecord", "model_names", "version_records"]


@dataclass
class VersionRecord:
    """One version directory's records.

    Attributes:
        version: the integer version.
        path: its directory.
        manifest: ``modelship.json`` as written (empty if missing or unreadable).
        validation: ``validation.json`` as written, if the version was validated.
        labels: labels that point at this version (from ``labels.json``).
        labels_file: every label of the model.
    """

    version: int
    path: Path
    manifest: dict[str, Any]
    validation: dict[str, Any] | None
    labels: list[str] = field(default_factory=list)
    labels_file: dict[str, int] = field(default_factory=dict)

    def validation_summary(self) -> str:
        if self.validation is None:
            return "not validated"
        verdict = "passed" if self.validation.get("passed") else "FAILED"
        when = self.validation.get("created_at", "")
        return f"{verdict} {when}".strip()


def model_names(repo: Path) -> list[str]:
    """Sub-directories of ``repo`` that hold at least one version."""
    if not repo.is_dir():
        return []
    return sorted(p.name for p in repo.iterdir() if p.is_dir() and list_versions(p))


def version_records(base_path: Path) -> list[VersionRecord]:
    """Every version under ``base_path``, oldest first."""
    from modelship.lifecycle.labels import LabelsFile
    from modelship.validation.report import REPORT_NAME

    try:
        labels = LabelsFile.read(base_path).labels
    except Exception:  # a broken labels file must not hide the versions
        labels = {}
    records = []
    for version in list_versions(base_path):
        path = version_path(base_path, version)
        records.append(
            VersionRecord(
                version=version,
                path=path,
                manifest=_read_json(path / MANIFEST_NAME) or {},
                validation=_read_json(path / REPORT_NAME),
                labels=sorted(k for k, v in labels.items() if v == version),
                labels_file=labels,
            )
        )
    return records


def _read_json(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError:
        return None
    return data if isinstance(data, dict) else None
