"""The model lifecycle in TF Serving's roles: a source says which versions should be loaded, a
loader loads and warms one, a manager runs the state machine and its swap policy and publishes
state events; :class:`Lifecycle` keeps them polling for the serving layer."""

from __future__ import annotations

__all__ = ["Coordinator", "Job", "Lifecycle", "States", "registry_states", "start_lifecycle"]

from modelship.lifecycle.core import Coordinator, Job, Lifecycle, start_lifecycle
from modelship.lifecycle.manager import States, registry_states
