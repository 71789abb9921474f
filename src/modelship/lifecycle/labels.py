"""``labels.json`` beside a model's versions: its version labels and their history. ``modelship
promote`` and ``rollback`` replace it atomically (written beside, then renamed) and a running
server reads it on every poll, so moving ``stable`` needs no restart or config-file edit."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelship.errors import BadConfig, FailedPrecondition

__all__ = ["LABELS_NAME", "LabelsFile", "valid_label"]

LABELS_NAME = "labels.json"


def valid_label(label: str) -> bool:
    """TF Serving's label syntax: ``[a-zA-Z0-9_]+``, not only digits (that is a version)."""
    return bool(label) and all(c.isalnum() or c == "_" for c in label) and not label.isdigit()


@dataclass
class LabelsFile:
    """The labels of one model and every change made to them.

    Attributes:
        labels: label -> version.
        history: one record per change, oldest first: ``label``, ``version``, ``action``
            (``promote`` or ``rollback``), ``forced``, ``at``, and free-form ``note``.
    """

    labels: dict[str, int] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def read(cls, base_path: Path) -> LabelsFile:
        """The labels under ``base_path``; empty if there is no file.

        Raises:
            BadConfig: the file exists but is not valid.
        """
        path = base_path / LABELS_NAME
        if not path.is_file():
            return cls()
        try:
            data = json.loads(path.read_text())
            labels = {str(k): int(v) for k, v in data.get("labels", {}).items()}
            history = [dict(h) for h in data.get("history", [])]
        except (ValueError, TypeError, AttributeError) as exc:
            raise BadConfig(f"{path} is not a valid labels file: {exc}") from exc
        return cls(labels=labels, history=history)

    def write(self, base_path: Path) -> Path:
        """Replace ``base_path/labels.json`` atomically."""
        path = base_path / LABELS_NAME
        text = json.dumps({"labels": self.labels, "history": self.history}, indent=2) + "\n"
        fd, tmp = tempfile.mkstemp(prefix=".labels-", dir=base_path)
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
        return path

    def promote(self, label: str, version: int, *, forced: bool = False, note: str = "") -> None:
        """Point ``label`` at ``version`` and record it."""
        if not valid_label(label):
            raise BadConfig(f"invalid label {label!r}: use letters, digits and _ (not only digits)")
        self.labels[label] = version
        self._record(label, version, "promote", forced, note)

    def rollback(self, label: str) -> int:
        """Point ``label`` back at the version it held before the last promotion; returns it.

        Raises:
            FailedPrecondition: the label was never promoted twice: nothing to return to.
        """
        stack = self.promotions(label)
        if len(stack) < 2:
            raise FailedPrecondition(
                f"label {label!r} has no earlier version to roll back to "
                f"(promotions: {stack or 'none'})"
            )
        version = stack[-2]
        self.labels[label] = version
        self._record(label, version, "rollback", False, f"from {stack[-1]}")
        return version

    def promotions(self, label: str) -> list[int]:
        """The versions ``label`` held, oldest first, after replaying promotes and rollbacks."""
        stack: list[int] = []
        for record in self.history:
            if record.get("label") != label:
                continue
            if record.get("action") == "promote":
                stack.append(int(record["version"]))
            elif record.get("action") == "rollback" and stack:
                stack.pop()
        return stack

    def _record(self, label: str, version: int, action: str, forced: bool, note: str) -> None:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        self.history.append(
            dict(label=label, version=version, action=action, forced=forced, note=note, at=at)
        )
