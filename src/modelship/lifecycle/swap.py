"""Swap policies: the next load or unload that brings a model to its aspired versions.

Like TF Serving's ``AspiredVersionPolicy``: the manager asks for one action at a time, does it,
and asks again until the policy has nothing left to do.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Literal, Protocol

from modelship.registry import AVAILABLE, LOADING, ServedVersion

__all__ = ["Action", "AvailabilityPreservingPolicy", "SwapPolicy"]


@dataclass(frozen=True)
class Action:
    """Load or unload one version."""

    kind: Literal["load", "unload"]
    version: int


class SwapPolicy(Protocol):
    """Chooses the next action for one model."""

    def next_action(self, versions: Mapping[int, ServedVersion], wanted: Set[int]) -> Action | None:
        """The next step from the versions known now towards ``wanted``; ``None`` when done."""
        ...


class AvailabilityPreservingPolicy:
    """Never leaves a model with no version serving while one is on its way.

    New versions load first, newest first; a version no longer wanted unloads only once a wanted
    one is ``AVAILABLE``. Memory is briefly that of both versions (TF Serving's
    ``AvailabilityPreservingPolicy``; a resource-preserving policy would unload first).
    """

    def next_action(self, versions: Mapping[int, ServedVersion], wanted: Set[int]) -> Action | None:
        """The newest wanted version not loaded or loading, else the oldest unwanted one."""
        missing = [
            v for v in wanted if v not in versions or versions[v].state not in (AVAILABLE, LOADING)
        ]
        if missing:
            return Action("load", max(missing))
        if any(versions[v].available for v in wanted):
            retired = [v for v, served in versions.items() if v not in wanted and served.available]
            if retired:
                return Action("unload", min(retired))
        return None
