"""The lifecycle of one serving process: source and manager, kept polling (TF Serving's
``ServerCore``).

Every ``--file_system_poll_wait_seconds`` the source lists each model's repository and the
manager brings the registry to it; every ``--model_config_file_poll_wait_seconds`` the config
file is read again, and a new list replaces the old one (models are added and removed). Polls
run on the wall clock's multiples of their wait (:mod:`.ticks`), so the processes of one server
look at the repository at the same moments.

Several processes serving as one server plug a :class:`Coordinator` in: it hands reload
requests to the others, hears the manager's state events, and may hold a new version back with
a ready gate.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import threading
from typing import Protocol

from modelship.errors import BadConfig
from modelship.lifecycle.config import ModelConfig, configs_from_settings
from modelship.lifecycle.loader import Loader
from modelship.lifecycle.manager import Manager
from modelship.lifecycle.monitor import States
from modelship.lifecycle.source import ModelSource
from modelship.lifecycle.ticks import Job, run_jobs
from modelship.registry import Registry
from modelship.settings import ServeSettings

__all__ = ["Coordinator", "Lifecycle", "start_lifecycle"]

logger = logging.getLogger("modelship.lifecycle")

_LOADER_NICENESS = 10


class Coordinator(Protocol):
    """What keeps several serving processes' lifecycles in step (the worker group)."""

    def attach(self, lifecycle: Lifecycle) -> None:
        """Bind to ``lifecycle``: subscribe to its manager's events, add ready gates."""
        ...

    def adopt(self) -> bool:
        """At start, take the model list the others serve; True if it did."""
        ...

    def started(self) -> None:
        """This process serves from now on."""
        ...

    def reload(self, configs: list[ModelConfig]) -> None:
        """Apply a reload request received here in every process; return once they serve it."""
        ...

    def jobs(self) -> list[Job]:
        """Periodic work to run beside the polls."""
        ...

    def peer_states(self) -> list[States]:
        """The version states the other processes published."""
        ...


def start_lifecycle(
    registry: Registry, settings: ServeSettings, coordinator: Coordinator | None = None
) -> Lifecycle:
    """Load the configured models, then keep polling in the background.

    Args:
        registry: the registry to keep in step.
        settings: the server's settings.
        coordinator: the worker group's side of this process (``--workers`` > 1).

    Raises:
        BadConfig: a configured model has no version that can serve; the message says which
            and why, so ``serve`` exits with it instead of serving nothing.
    """
    lifecycle = Lifecycle(registry, settings, configs_from_settings(settings), coordinator)
    # A process that replaces a dead one serves what its peers serve: the last reload request
    # (as they do, it need not find a version of every model).
    reloaded = coordinator is not None and coordinator.adopt()
    lifecycle.poll()
    if not reloaded:
        lifecycle.require_available()
    # Everything alive now lives as long as the server: keep it out of later collections, so the
    # full collection after an unload scans only what came since (8 ms, not 100+ ms of GIL).
    gc.freeze()
    lifecycle.start()
    return lifecycle


class Lifecycle:
    """The serving layer's handle on the lifecycle; one instance per serving process.

    Attributes:
        registry: the registry the manager keeps in step.
        source: the model list and what each model should serve.
        manager: the state machine.
        stopping: set by :meth:`stop`.
    """

    def __init__(
        self,
        registry: Registry,
        settings: ServeSettings,
        configs: list[ModelConfig],
        coordinator: Coordinator | None = None,
        manager: Manager | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.source = ModelSource(settings, configs)
        self.manager = manager or Manager(
            registry,
            Loader.from_settings(settings),
            allow_unavailable_labels=settings.allow_version_labels_for_unavailable_models,
        )
        self.stopping = threading.Event()
        self._lock = threading.Lock()  # one pass at a time (thread, reload request)
        self._thread: threading.Thread | None = None
        self.coordinator = coordinator
        if coordinator is not None:
            coordinator.attach(self)

    @property
    def configs(self) -> list[ModelConfig]:
        """The models served now."""
        return self.source.configs

    def start(self) -> None:
        """Start the polling thread, unless there is nothing periodic to do (every wait 0)."""
        if self.coordinator is not None:
            self.coordinator.started()
        if not self._jobs() or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling (the versions loaded stay loaded)."""
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def poll(self) -> None:
        """One pass over every configured model."""
        with self._lock:
            for config in self.source.configs:
                try:
                    self.manager.reconcile(self.source.aspired(config))
                except Exception:  # one model's trouble must not stop the others' polling
                    logger.exception("polling model %s failed", config.name)

    def apply_config(self, configs: list[ModelConfig]) -> None:
        """Replace the model list in this process: unload removed models, load added ones."""
        with self._lock:
            for name in self.source.set_configs(configs):
                self.manager.remove_model(name)
        self.poll()

    def reload(self, configs: list[ModelConfig]) -> None:
        """A reload request (TF Serving's HandleReloadConfigRequest) received by this process.

        Alone, it applies ``configs``; with a coordinator, it returns once every process of
        the server serves them.
        """
        if self.coordinator is None:
            self.apply_config(configs)
        else:
            self.coordinator.reload(configs)

    def set_configs(self, configs: list[ModelConfig]) -> None:
        """Replace the model list before the first poll (nothing is loaded yet)."""
        with self._lock:
            self.source.set_configs(configs)

    def file_stamp(self) -> str | None:
        """A digest of ``--model_config_file``'s model list as this process last read it."""
        return self.source.file_stamp()

    def peer_states(self) -> list[States]:
        """The version states the server's other processes published (none when alone)."""
        return self.coordinator.peer_states() if self.coordinator is not None else []

    def reload_config_file(self) -> None:
        """Re-read ``--model_config_file`` and apply its list if it changed."""
        configs = self.source.changed_config_file()
        if configs is not None:
            self.apply_config(configs)

    def require_available(self) -> None:
        """Raise :class:`BadConfig` unless every configured model has an AVAILABLE version."""
        for config in self.source.configs:
            entry = self.registry.model(config.name)
            if entry.latest_available() is not None:
                continue
            failed = sorted(entry.versions.values(), key=lambda v: -v.version)
            if failed:
                v = failed[0]
                raise BadConfig(
                    f"cannot serve {config.name} version {v.version} from {v.path}: "
                    f"{v.error_message or v.state}"
                )
            base = config.base_path
            hint = "" if base.is_dir() else " (the directory does not exist)"
            raise BadConfig(
                f"no model version found under {base}{hint}: expected numbered directories "
                f"like {base}/1/model.onnx; train one with `modelship train`"
            )

    def _jobs(self) -> list[Job]:
        """(wait, action) of each periodic job; jobs whose wait is 0 do not run."""
        config_wait = self.settings.model_config_file_poll_wait_seconds
        if self.settings.model_config_file is None:
            config_wait = 0.0
        jobs: list[Job] = [
            (config_wait, self.reload_config_file),
            (self.settings.file_system_poll_wait_seconds, self.poll),
        ]
        if self.coordinator is not None:
            jobs += self.coordinator.jobs()
        return [(wait, action) for wait, action in jobs if wait > 0]

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            # Loading and warm-up yield the CPU to request threads (Linux: per-thread nice).
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _LOADER_NICENESS)
        run_jobs(self._jobs(), self.stopping)
