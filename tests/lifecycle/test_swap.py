"""The availability-preserving swap policy, one decision at a time."""

from __future__ import annotations

from pathlib import Path

from modelship.lifecycle.manager import Action, AvailabilityPreservingPolicy
from modelship.registry import ServedVersion


def versions(**states: str) -> dict[int, ServedVersion]:
    found = {}
    for name, state in states.items():
        version = int(name[1:])
        served = ServedVersion(model="toy", version=version, path=Path(name), state=state)
        served.runtime = object() if state in ("AVAILABLE", "UNLOADING") else None  # type: ignore[assignment]
        found[version] = served
    return found


policy = AvailabilityPreservingPolicy()


def test_the_newest_missing_wanted_version_loads_first() -> None:
    assert policy.next_action({}, {1, 2, 3}) == Action("load", 3)
    assert policy.next_action(versions(v3="AVAILABLE"), {2, 3}) == Action("load", 2)


def test_an_unwanted_version_unloads_only_once_a_wanted_one_serves() -> None:
    assert policy.next_action(versions(v1="AVAILABLE", v2="LOADING"), {2}) is None
    assert policy.next_action(versions(v1="AVAILABLE", v2="END"), {2}) == Action("load", 2)
    serving = versions(v1="AVAILABLE", v2="AVAILABLE", v3="AVAILABLE")
    assert policy.next_action(serving, {3}) == Action("unload", 1)


def test_a_wanted_version_on_its_way_out_loads_again() -> None:
    assert policy.next_action(versions(v1="UNLOADING", v2="AVAILABLE"), {1, 2}) == Action("load", 1)


def test_nothing_to_do_when_the_wanted_versions_serve() -> None:
    assert policy.next_action(versions(v1="END", v2="AVAILABLE"), {2}) is None
