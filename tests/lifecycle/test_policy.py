"""Version policies choose as TF Serving's do."""

from __future__ import annotations

import pytest

from modelship.errors import BadConfig
from modelship.lifecycle.config import VersionPolicy


def test_latest_serves_the_newest_n() -> None:
    assert VersionPolicy().select([3, 1, 7]) == {7}
    assert VersionPolicy("latest", num_versions=2).select([3, 1, 7]) == {3, 7}
    assert VersionPolicy("latest", num_versions=5).select([3]) == {3}
    assert VersionPolicy().select([]) == set()


def test_all_and_specific() -> None:
    assert VersionPolicy("all").select([2, 1]) == {1, 2}
    assert VersionPolicy("specific", versions=(1, 9)).select([1, 2, 3]) == {1}


@pytest.mark.parametrize(
    ("kind", "num", "versions", "message"),
    [
        ("newest", 1, (), "unknown version policy"),
        ("latest", 0, (), "at least 1"),
        ("specific", 1, (), "names no version"),
    ],
)
def test_bad_policies_are_refused(
    kind: str, num: int, versions: tuple[int, ...], message: str
) -> None:
    with pytest.raises(BadConfig, match=message):
        VersionPolicy(kind, num_versions=num, versions=versions)
