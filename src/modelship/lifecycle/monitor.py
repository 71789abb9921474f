"""Version-state events (TF Serving's ``ServableStateMonitor``): the manager publishes each
change and knows nothing of who listens (the worker group, a test)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from modelship.registry import Registry, ServedVersion

__all__ = ["ServableState", "StateMonitor", "States", "registry_states"]

logger = logging.getLogger("modelship.lifecycle")

# model -> version -> state, as one process's registry has them.
States = dict[str, dict[int, str]]


@dataclass(frozen=True)
class ServableState:
    """One version entered ``state`` (with ``error_message`` when it ended in failure)."""

    model: str
    version: int
    state: str
    error_message: str = ""


class StateMonitor:
    """Delivers every :class:`ServableState` to the subscribers, in the order published."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[ServableState], None]] = []
        self._lock = threading.Lock()  # loads and background unloads both publish

    def subscribe(self, subscriber: Callable[[ServableState], None]) -> None:
        """Call ``subscriber`` with each later event (on the publishing thread)."""
        self._subscribers.append(subscriber)

    def publish(self, served: ServedVersion) -> None:
        """Tell the subscribers the state ``served`` is in now."""
        event = ServableState(served.model, served.version, served.state, served.error_message)
        with self._lock:
            for subscriber in list(self._subscribers):
                try:
                    subscriber(event)
                except Exception:  # a listener's trouble must not stop a load or an unload
                    logger.exception("a version-state subscriber failed on %s", event)


def registry_states(registry: Registry) -> States:
    """Every version's state in ``registry``, as one snapshot."""
    return {
        entry.name: {v: served.state for v, served in list(entry.versions.items())}
        for entry in registry.models()
    }
