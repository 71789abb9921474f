"""The lifecycle of one serving process (TF Serving's ``ServerCore``): the source and the
manager, kept polling on wall-clock ticks, the config file re-read; several processes serving as
one server plug a :class:`Coordinator` in."""

from __future__ import annotations

import gc
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from modelship.errors import BadConfig
from modelship.lifecycle.config import ModelConfig, configs_from_settings
from modelship.lifecycle.loader import Loader
from modelship.lifecycle.manager import Manager, States
from modelship.lifecycle.source import ModelSource
from modelship.registry import Registry
from modelship.settings import ServeSettings

__all__ = ["Coordinator", "Job", "Lifecycle", "next_tick", "run_jobs", "start_lifecycle"]

logger = logging.getLogger("modelship.lifecycle")

# (wait in seconds, action)
Job = tuple[float, Callable[[], None]]


class Coordinator(Protocol):
    """What keeps several serving processes' lifecycles in step: the worker group's
    ``GroupSync``, whose methods say what each step does."""

    def attach(self, lifecycle: Lifecycle) -> None: ...
    def adopt(self) -> bool: ...
    def started(self) -> None: ...
    def reload(self, configs: list[ModelConfig]) -> None: ...
    def jobs(self) -> list[Job]: ...
    def peer_states(self) -> list[States]: ...


def start_lifecycle(
    registry: Registry, settings: ServeSettings, coordinator: Coordinator | None = None
) -> Lifecycle:
    """Load the configured models, then keep polling in the background; ``coordinator`` is
    the worker group's side of this process (``--workers`` > 1).

    Raises:
        BadConfig: no configured model has a version that can serve; the message says why,
            so ``serve`` exits with it instead of serving nothing. Models that cannot serve
            beside others that can are logged, and their status says why.
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

    Every ``--file_system_poll_wait_seconds`` the source lists each model's repository and the
    manager brings the registry to it; every ``--model_config_file_poll_wait_seconds`` the
    config file is read again, and a changed list replaces the old one. ``stopping`` is set by
    :meth:`stop`.
    """

    def __init__(
        self,
        registry: Registry,
        settings: ServeSettings,
        configs: list[ModelConfig],
        coordinator: Coordinator | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self.source = ModelSource(settings, configs)
        self.manager = Manager(
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
        """A reload request (TF Serving's HandleReloadConfigRequest) received by this process;
        with a coordinator, it returns once every process of the server serves ``configs``."""
        if self.coordinator is None:
            self.apply_config(configs)
        else:
            self.coordinator.reload(configs)

    def peer_states(self) -> list[States]:
        """The version states the server's other processes published (none when alone)."""
        return self.coordinator.peer_states() if self.coordinator is not None else []

    def reload_config_file(self) -> None:
        """Re-read ``--model_config_file`` and apply its list if it changed."""
        configs = self.source.changed_config_file()
        if configs is not None:
            self.apply_config(configs)

    def require_available(self) -> None:
        """Raise :class:`BadConfig` when no configured model has an AVAILABLE version; each model
        that cannot serve is logged (its version status says why) and the others serve."""
        problems = [problem for config in self.source.configs if (problem := self._problem(config))]
        if problems and len(problems) == len(self.source.configs):
            raise BadConfig("; ".join(problems))
        for problem in problems:
            logger.error("%s; serving the other models", problem)

    def _problem(self, config: ModelConfig) -> str:
        """Why ``config``'s model has no AVAILABLE version ("" when it has one)."""
        entry = self.registry.model(config.name)
        if entry.latest_available() is not None:
            return ""
        v = max(entry.versions.values(), key=lambda v: v.version, default=None)
        if v is not None:  # the newest version tried, with why it failed
            return (
                f"cannot serve {config.name} version {v.version} from {v.path}: "
                f"{v.error_message or v.state}"
            )
        base = config.base_path
        hint = "" if base.is_dir() else " (the directory does not exist)"
        return (
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
        # At the normal priority: onnxruntime's intra-op threads inherit the priority of the
        # thread that creates the session and keep it while the version serves (a process
        # cannot raise it back), and a lowered thread that holds the GIL while other
        # processes preempt it stalls the event loop (benchmarks/results/PROFILE.md, 11).
        run_jobs(self._jobs(), self.stopping)


def next_tick(now: float, wait: float) -> float:
    """The first multiple of ``wait`` on the wall clock after ``now``."""
    return (math.floor(now / wait) + 1) * wait


def run_jobs(jobs: Sequence[Job], stop: threading.Event) -> None:
    """Run each job on its ticks until ``stop`` is set; an exception is logged, never fatal.

    A job runs at every multiple of its wait since the epoch, so the processes of one server
    look at the repository at the same moments and find a new version together. Jobs due at
    the same tick run in the order given; one still running at its next tick skips it.
    """
    if not jobs:
        return
    due = [next_tick(time.time(), wait) for wait, _ in jobs]
    # Sleep until the next due job exactly: a coarse tick would delay every new version.
    while not stop.wait(max(0.0, min(due) - time.time())):
        for i, (wait, action) in enumerate(jobs):
            now = time.time()
            if due[i] - now > wait:  # the clock was set back: realign, run nothing
                due[i] = next_tick(now, wait)
            elif now >= due[i]:
                due[i] = next_tick(now, wait)
                try:
                    action()
                except Exception:  # the watcher must outlive any one pass
                    logger.exception("lifecycle pass failed")
