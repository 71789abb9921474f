"""The watcher: keeps the registry in step with the model repository on disk.

Every ``--file_system_poll_wait_seconds`` it lists each model's base path and, in its own
thread (never on a request's path):

- loads the versions the policy (or a label) wants, warms each up, and only then makes it
  ``AVAILABLE``; requests switch to it with one assignment;
- retires versions no longer wanted once a wanted one is ``AVAILABLE`` (availability
  preserving), after a grace period for requests that already resolved them, and frees their
  memory (last reference dropped, ``gc``, ``malloc_trim``);
- keeps a version that failed (bad artifact, failed warm-up, signature that differs from the
  serving one) in ``END`` with its error, never served, and retries it only when its files change;
- unloads versions whose directory was deleted;
- applies labels from the config file and ``labels.json``, refusing a label whose version is
  not ``AVAILABLE`` unless ``--allow_version_labels_for_unavailable_models``.

Every ``--model_config_file_poll_wait_seconds`` it re-reads the config file; the new list
replaces the old one (models are added and removed).

Polls run on the wall clock's multiples of their wait (:mod:`.ticks`), so the workers of one
server look at the repository at the same moments. With several workers, the watcher also
follows the group's shared directory (:mod:`.sync`): a reload request received by another
worker is applied here within ``GROUP_CHECK_SECONDS``; this worker's version states are
published for the others' status answers; and a new latest version, once loaded, is held until
the other workers have loaded it too, so they switch to it together.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import logging
import os
import threading
import time

from modelship.errors import BadConfig, ModelNotFound
from modelship.lifecycle.compat import require_same_signature
from modelship.lifecycle.config import ModelConfig, configs_from_settings, read_model_config_file
from modelship.lifecycle.failures import FailedVersions
from modelship.lifecycle.group import States, WorkerGroup
from modelship.lifecycle.labels import LabelsFile
from modelship.lifecycle.memory import release_memory
from modelship.lifecycle.sync import GROUP_CHECK_SECONDS, GroupSync
from modelship.lifecycle.ticks import Job, run_jobs
from modelship.lifecycle.warmup import run_warmup
from modelship.registry import ModelEntry, Registry, ServedVersion
from modelship.repository import list_versions, version_path
from modelship.runtimes.base import Runtime
from modelship.settings import ServeSettings

__all__ = ["UNLOAD_GRACE_SECONDS", "Lifecycle", "start_lifecycle"]

logger = logging.getLogger("modelship.lifecycle")

# Requests that resolved a version just before it was retired still call into it; they get this
# long before its runtime is detached (a request that already holds the runtime is never cut).
UNLOAD_GRACE_SECONDS = 2.0
_LOADER_NICENESS = 10


def start_lifecycle(
    registry: Registry, settings: ServeSettings, group: WorkerGroup | None = None
) -> Lifecycle:
    """Load the configured models, then keep polling in the background.

    Args:
        registry: the registry to keep in step.
        settings: the server's settings.
        group: the worker group this process belongs to (``--workers`` > 1).

    Raises:
        BadConfig: a configured model has no version that can serve; the message says which
            and why, so ``serve`` exits with it instead of serving nothing.
    """
    lifecycle = Lifecycle(registry, settings, configs_from_settings(settings), group)
    # A worker that replaces a dead one serves what its peers serve: the last reload request
    # (as they do, it need not find a version of every model).
    reloaded = lifecycle.sync is not None and lifecycle.sync.adopt()
    lifecycle.poll()
    if not reloaded:
        lifecycle.require_available()
    # Everything alive now lives as long as the server: keep it out of later collections, so the
    # full collection after an unload scans only what came since (8 ms, not 100+ ms of GIL).
    gc.freeze()
    lifecycle.start()
    return lifecycle


class Lifecycle:
    """Polls the repository and the config file; one instance per serving process."""

    def __init__(
        self,
        registry: Registry,
        settings: ServeSettings,
        configs: list[ModelConfig],
        group: WorkerGroup | None = None,
    ) -> None:
        self.registry = registry
        self.settings = settings
        self._configs = {c.name: c for c in configs}
        self._file_configs = configs if settings.model_config_file is not None else []
        self._failed = FailedVersions()
        self._warned: set[tuple[str, str, int]] = set()
        self._lock = threading.Lock()  # one poll at a time (thread, reload request, stop)
        self._stop = threading.Event()
        self.sync = GroupSync(self, group, self._stop) if group is not None else None
        self._thread: threading.Thread | None = None
        self._timers: list[threading.Timer] = []

    @property
    def configs(self) -> list[ModelConfig]:
        return list(self._configs.values())

    def start(self) -> None:
        """Start the polling thread, unless both poll waits are 0 (poll once, at start) and
        there is no worker group to follow."""
        if self.sync is not None:
            self.sync.started()
        if self._interval() is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="model-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling and finish pending unloads."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for timer in self._timers:
            timer.cancel()

    def poll(self) -> None:
        """One pass over every configured model."""
        with self._lock:
            for config in list(self._configs.values()):
                try:
                    self._poll_model(config)
                except Exception:  # one model's trouble must not stop the others' polling
                    logger.exception("polling model %s failed", config.name)
        self._changed()

    def apply_config(self, configs: list[ModelConfig]) -> None:
        """Replace the model list: unload removed models, then load added ones."""
        with self._lock:
            new = {c.name: c for c in configs}
            for name in set(self._configs) - set(new):
                self._remove_model(name)
            self._configs = new
        self.poll()

    def reload(self, configs: list[ModelConfig], text: str) -> None:
        """A reload request (TF Serving's HandleReloadConfigRequest) received by this process.

        Alone, it applies ``configs``; in a worker group it returns once every worker serves
        them (see :class:`.sync.GroupSync`).

        Args:
            configs: the parsed model list.
            text: the same list as a ``ModelServerConfig`` text proto, for the other workers.
        """
        if self.sync is None:
            self.apply_config(configs)
        else:
            self.sync.reload(configs, text)

    def set_configs(self, configs: list[ModelConfig]) -> None:
        """Replace the model list before the first poll (nothing is loaded yet)."""
        with self._lock:
            self._configs = {c.name: c for c in configs}

    def file_stamp(self) -> str | None:
        """A digest of ``--model_config_file``'s model list as this process last read it."""
        if self.settings.model_config_file is None:
            return None
        # Order-free: another process may list the models or labels in another order.
        canonical = sorted(
            (c.name, str(c.base_path), c.runtime, repr(c.policy), sorted(c.labels.items()))
            for c in self._file_configs
        )
        return hashlib.sha256(repr(canonical).encode()).hexdigest()

    def peer_states(self) -> list[States]:
        """The version states the other workers of the group published (none when alone)."""
        return self.sync.group.peer_states() if self.sync is not None else []

    def _changed(self) -> None:
        """A version changed state: tell the other workers at once (they also hear it on the
        next group check)."""
        if self.sync is not None:
            self.sync.publish_states()

    def reload_config_file(self) -> None:
        """Re-read ``--model_config_file``; a broken file is logged and the old list kept."""
        path = self.settings.model_config_file
        if path is None:
            return
        try:
            configs = read_model_config_file(path)
        except BadConfig as exc:
            logger.error("keeping the current models: %s", exc.message)
            return
        # Apply only a change of the file: a list set since by a gRPC reload request stays
        # until the file itself changes.
        if configs != self._file_configs:
            self._file_configs = configs
            logger.info("model config file changed: %s", ", ".join(c.name for c in configs))
            self.apply_config(configs)

    def require_available(self) -> None:
        """Raise :class:`BadConfig` unless every configured model has an AVAILABLE version."""
        for config in self._configs.values():
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

    # -- the polling thread ------------------------------------------------------------------

    def _schedules(self) -> list[Job]:
        """(wait, action) of each periodic job; jobs whose wait is 0 do not run."""
        config_wait = self.settings.model_config_file_poll_wait_seconds
        if self.settings.model_config_file is None:
            config_wait = 0.0
        jobs: list[Job] = [
            (config_wait, self.reload_config_file),
            (self.settings.file_system_poll_wait_seconds, self.poll),
        ]
        if self.sync is not None:
            jobs.append((GROUP_CHECK_SECONDS, self.sync.check))
        return [(wait, action) for wait, action in jobs if wait > 0]

    def _interval(self) -> float | None:
        waits = [wait for wait, _ in self._schedules()]
        return min(waits) if waits else None

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):
            # Loading and warm-up yield the CPU to request threads (Linux: per-thread nice).
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _LOADER_NICENESS)
        run_jobs(self._schedules(), self._stop)

    # -- one model ---------------------------------------------------------------------------

    def _poll_model(self, config: ModelConfig) -> None:
        entry = self.registry.add_model(config.name, config.base_path)
        on_disk = set(list_versions(config.base_path))
        # labels.json (what promote and rollback write) overrides the config's version_labels.
        labels = {**config.labels, **self._read_labels(config)}
        label_targets = set(labels.values())
        for _ in range(len(on_disk) + 1):  # a failed load changes what is wanted; retry
            candidates = {
                v
                for v in on_disk
                if not self._failed.still_failed(config.name, v, version_path(config.base_path, v))
            }
            wanted = config.policy.select(candidates) | (label_targets & candidates)
            if not self._load_missing(entry, config, wanted):
                break
        # A deleted version keeps answering until the load pass above replaced it, if it could.
        for version in [v for v in entry.versions if v not in on_disk]:
            logger.info("%s version %d was deleted; unloading it", config.name, version)
            self._retire(entry.versions[version], drop=True)
            self._failed.forget(config.name, version)
        if any(entry.versions[v].available for v in wanted if v in entry.versions):
            for version, served in list(entry.versions.items()):
                if version not in wanted and served.available:
                    logger.info(
                        "%s version %d is no longer wanted; unloading", config.name, version
                    )
                    self._retire(served)
        self._apply_labels(entry, labels)

    def _load_missing(self, entry: ModelEntry, config: ModelConfig, wanted: set[int]) -> bool:
        """Load wanted versions that are not loaded, newest first; True if one failed."""
        failed = False
        for version in sorted(wanted, reverse=True):
            current = entry.versions.get(version)
            if current is not None and current.state in ("AVAILABLE", "LOADING"):
                continue
            served = ServedVersion(
                model=config.name, version=version, path=version_path(config.base_path, version)
            )
            self.registry.set_version(served)  # visible as START/LOADING while it loads
            self._changed()
            started = time.monotonic()
            served.load(
                runtime=config.runtime,
                threads=self.settings.intra_op_threads,
                inter_op_threads=self.settings.inter_op_threads,
                tags=self.settings.meta_graph_tags(),
                prepare=functools.partial(self._prepare, entry),
            )
            self._changed()
            if served.available:
                logger.info(
                    "loaded %s version %d from %s in %.2fs",
                    config.name,
                    version,
                    served.path,
                    time.monotonic() - started,
                )
            else:
                failed = True
                self._failed.record(config.name, version, served.path)
                logger.error(
                    "cannot serve %s version %d: %s", config.name, version, served.error_message
                )
        return failed

    def _prepare(self, entry: ModelEntry, served: ServedVersion, runtime: Runtime) -> None:
        """Refuse a signature change against the serving version, then warm up (if enabled)."""
        previous = entry.latest_available()
        require_same_signature(previous, served.version, runtime)
        if self.settings.enable_model_warmup:
            run_warmup(
                served.path,
                served.manifest,
                runtime,
                iterations=self.settings.num_request_iterations_for_warmup,
            )
        if self.sync is not None and previous is not None and served.version > previous.version:
            # The new latest version: switch when the other workers can switch too.
            self.sync.hold(served)

    def _read_labels(self, config: ModelConfig) -> dict[str, int]:
        try:
            return LabelsFile.read(config.base_path).labels
        except BadConfig as exc:
            logger.error("ignoring labels of %s: %s", config.name, exc.message)
            return {}

    def _apply_labels(self, entry: ModelEntry, desired: dict[str, int]) -> None:
        allow = self.settings.allow_version_labels_for_unavailable_models
        labels: dict[str, int] = {}
        for label, version in desired.items():
            target = entry.versions.get(version)
            if allow or (target is not None and target.available):
                labels[label] = version
                continue
            if (entry.name, label, version) not in self._warned:
                self._warned.add((entry.name, label, version))
                logger.warning(
                    "label %s of %s not moved to version %d: it is not AVAILABLE (%s)",
                    label,
                    entry.name,
                    version,
                    target.state if target is not None else "not on disk",
                )
            if label in entry.labels:
                labels[label] = entry.labels[label]
        entry.labels = labels  # one assignment: a request sees the old or the new labels

    # -- unloading ---------------------------------------------------------------------------

    def _retire(self, served: ServedVersion, drop: bool = False) -> None:
        """Stop routing to ``served`` now; detach and free its runtime after the grace period."""
        if served.runtime is None:
            if drop:
                self._drop(served)
            return
        if served.state == "UNLOADING":  # already on its way out; a later poll drops it
            return
        served.state = "UNLOADING"
        self._changed()
        timer = threading.Timer(UNLOAD_GRACE_SECONDS, self._finish_unload, (served, drop))
        timer.daemon = True
        self._timers = [t for t in self._timers if t.is_alive()] + [timer]
        timer.start()

    def _finish_unload(self, served: ServedVersion, drop: bool) -> None:
        served.unload(close=False)  # requests still running on it keep it alive until they end
        if drop:
            self._drop(served)
        self._changed()
        release_memory()
        logger.info("unloaded %s version %d", served.model, served.version)

    def _drop(self, served: ServedVersion) -> None:
        try:
            entry = self.registry.model(served.model)
        except ModelNotFound:  # the whole model was removed meanwhile
            return
        if entry.versions.get(served.version) is served:
            self.registry.drop_version(served.model, served.version)

    def _remove_model(self, name: str) -> None:
        entry = self.registry.remove_model(name)
        if entry is None:
            return
        logger.info("model %s removed from the config; unloading it", name)
        for served in entry.versions.values():
            self._retire(served)
        self._failed.forget(name)
