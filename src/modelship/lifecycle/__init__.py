"""The model lifecycle: version policies, config files, labels, and the watcher."""

from __future__ import annotations

__all__ = ["Lifecycle", "start_lifecycle"]

from modelship.lifecycle.watcher import Lifecycle, start_lifecycle
