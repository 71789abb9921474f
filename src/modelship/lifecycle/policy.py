"""Version policies: which of the versions on disk a model serves, as TF Serving chooses them.

``latest {num_versions: N}`` (the default, N = 1), ``all {}`` and ``specific {versions: ...}``
keep TF Serving's meaning. A version that failed to load is not a candidate, so the latest
policy falls back to the newest version that works instead of serving nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from modelship.errors import BadConfig

__all__ = ["VersionPolicy"]

_KINDS = ("latest", "all", "specific")


@dataclass(frozen=True)
class VersionPolicy:
    """One of TF Serving's servable version policies.

    Attributes:
        kind: ``latest``, ``all`` or ``specific``.
        num_versions: how many of the newest versions ``latest`` serves.
        versions: the versions ``specific`` serves.
    """

    kind: str = "latest"
    num_versions: int = 1
    versions: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise BadConfig(f"unknown version policy {self.kind!r}; use one of {', '.join(_KINDS)}")
        if self.kind == "latest" and self.num_versions < 1:
            raise BadConfig(f"latest {{num_versions: {self.num_versions}}} must serve at least 1")
        if self.kind == "specific" and not self.versions:
            raise BadConfig("specific {} names no version: add versions: N")

    def select(self, candidates: Iterable[int]) -> set[int]:
        """The versions to serve among ``candidates`` (versions on disk that may load)."""
        ordered = sorted(set(candidates))
        if self.kind == "all":
            return set(ordered)
        if self.kind == "specific":
            return set(ordered) & set(self.versions)
        return set(ordered[-self.num_versions :])

    def describe(self) -> str:
        if self.kind == "latest":
            return f"latest {{num_versions: {self.num_versions}}}"
        if self.kind == "specific":
            return "specific {" + " ".join(f"versions: {v}" for v in self.versions) + "}"
        return "all {}"
