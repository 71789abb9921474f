"""Version directories: ASCII digits that fit int64, zero-padded ones served from their own
directory, anything else ignored with one warning (a stray name must not stop the polling)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from modelship.repository import list_versions, version_dirs, version_path


def make(base: Path, *names: str) -> Path:
    for name in names:
        (base / name).mkdir(parents=True)
    return base


def test_odd_names_are_ignored_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    odd = ["²", "٣", "99999999999999999999", "9223372036854775808", "0", "-1", "v2", "1.5"]
    base = make(tmp_path / "m", "1", "9223372036854775807", ".3", *odd)
    (base / "7").write_text("a file, not a version")
    with caplog.at_level(logging.WARNING, logger="modelship.repository"):
        assert list_versions(base) == [1, 2**63 - 1]
        assert list_versions(base) == [1, 2**63 - 1]  # a second poll: no second warning
    warned = sorted(r.getMessage().split(": ")[0].removeprefix("ignoring ") for r in caplog.records)
    assert warned == sorted(str(base / name) for name in odd)


def test_a_zero_padded_version_is_served_from_its_own_directory(tmp_path: Path) -> None:
    base = make(tmp_path / "m", "00000123", "7")
    assert version_dirs(base) == {7: base / "7", 123: base / "00000123"}
    assert version_path(base, 123) == base / "00000123"
    assert version_path(base, 8) == base / "8"  # where a new version would be published


def test_the_plain_name_wins_over_a_padded_twin(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = make(tmp_path / "m", "0123", "123")
    with caplog.at_level(logging.WARNING, logger="modelship.repository"):
        assert version_dirs(base) == {123: base / "123"}
    assert "version 123 is already served from 123" in caplog.text


def test_a_missing_base_path_has_no_versions(tmp_path: Path) -> None:
    assert list_versions(tmp_path / "nothing") == []
