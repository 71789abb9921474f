"""``labels.json``: promote, rollback, history."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship.errors import BadConfig, FailedPrecondition
from modelship.lifecycle.labels import LabelsFile, valid_label


def test_promote_and_rollback_walk_the_history(tmp_path: Path) -> None:
    labels = LabelsFile.read(tmp_path)
    assert labels.labels == {}
    labels.promote("stable", 1)
    labels.promote("stable", 2)
    labels.promote("stable", 3, forced=True, note="hotfix")
    labels.promote("canary", 4)
    labels.write(tmp_path)
    again = LabelsFile.read(tmp_path)
    assert again.labels == {"stable": 3, "canary": 4}
    assert again.history[2]["forced"] is True
    assert again.rollback("stable") == 2
    assert again.rollback("stable") == 1
    with pytest.raises(FailedPrecondition, match="no earlier version"):
        again.rollback("stable")
    assert again.labels == {"stable": 1, "canary": 4}
    assert [h["action"] for h in again.history[-2:]] == ["rollback", "rollback"]
    assert not list(tmp_path.glob(".labels-*"))  # the temporary file was renamed away


def test_bad_label_and_bad_file(tmp_path: Path) -> None:
    assert valid_label("stable_2")
    assert not valid_label("12")
    assert not valid_label("with-dash")
    with pytest.raises(BadConfig, match="invalid label"):
        LabelsFile().promote("a b", 1)
    (tmp_path / "labels.json").write_text("{not json")
    with pytest.raises(BadConfig, match=r"labels\.json"):
        LabelsFile.read(tmp_path)
