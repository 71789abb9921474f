"""The model lifecycle in TF Serving's roles: a source says which versions should be loaded
(:mod:`.source`), a loader loads and warms one (:mod:`.loader`), a manager runs the state
machine and the swap policy (:mod:`.manager`, :mod:`.swap`) and publishes state events
(:mod:`.monitor`); :class:`Lifecycle` keeps them polling for the serving layer."""

from __future__ import annotations

__all__ = ["Coordinator", "Lifecycle", "States", "start_lifecycle"]

from modelship.lifecycle.core import Coordinator, Lifecycle, start_lifecycle
from modelship.lifecycle.monitor import States
