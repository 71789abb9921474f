"""State events reach every subscriber, in order, whatever one of them does."""

from __future__ import annotations

from pathlib import Path

from modelship.lifecycle.manager import ServableState, StateMonitor, registry_states
from modelship.registry import Registry, ServedVersion


def test_every_subscriber_hears_each_change_even_after_one_fails() -> None:
    monitor = StateMonitor()
    heard: list[ServableState] = []

    def broken(event: ServableState) -> None:
        raise RuntimeError("listener bug")

    monitor.subscribe(broken)
    monitor.subscribe(heard.append)
    served = ServedVersion(model="toy", version=3, path=Path("3"))
    monitor.publish(served)
    served.state, served.error_message = "END", "bad artifact"
    monitor.publish(served)
    assert heard == [
        ServableState("toy", 3, "START"),
        ServableState("toy", 3, "END", "bad artifact"),
    ]


def test_registry_states_snapshot() -> None:
    registry = Registry()
    registry.add_model("toy", Path("toy"))
    registry.set_version(ServedVersion(model="toy", version=1, path=Path("1"), state="END"))
    assert registry_states(registry) == {"toy": {1: "END"}}
