"""Keeps one worker's lifecycle in step with the other workers of its server.

:class:`GroupSync` is the lifecycle's :class:`~modelship.lifecycle.Coordinator` for a worker
group: a reload request received by this worker is handed to the others through the group's
directory, and answered once they serve it too; a reload received by another worker is applied
here; this worker's version states are published for the others' status answers (it subscribes
to the manager's state events); and a new latest version, once loaded, is held (a ready gate)
until the other workers have loaded it too, so they switch to it together.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from modelship.errors import BadConfig
from modelship.lifecycle import Lifecycle
from modelship.lifecycle.config import ModelConfig
from modelship.lifecycle.monitor import ServableState, States, registry_states
from modelship.lifecycle.policy import VersionPolicy
from modelship.lifecycle.ticks import Job
from modelship.registry import ServedVersion
from modelship.serving.workers.group import LOADED, WorkerGroup, coming_to

__all__ = [
    "GROUP_CHECK_SECONDS",
    "HOLD_SECONDS",
    "PEER_RELOAD_TIMEOUT",
    "GroupSync",
    "decode_configs",
    "encode_configs",
]

logger = logging.getLogger("modelship.workers")

# How often a worker looks for a reload another worker received (a stat of one file).
GROUP_CHECK_SECONDS = 0.05
# How long a reload request waits for the other workers to apply it before it answers anyway.
PEER_RELOAD_TIMEOUT = 120.0
# How long a loaded new version waits for the other workers to load it before it serves anyway
# (a worker that cannot load it, or does not want it, must not keep the others on the old one).
HOLD_SECONDS = 15.0


class GroupSync:
    """One worker's side of the group: the lifecycle's coordinator.

    Args:
        group: the group's shared directory.
        clock: seconds, for the hold's timeout (injected by tests).
    """

    def __init__(self, group: WorkerGroup, clock: Callable[[], float] = time.monotonic) -> None:
        self.group = group
        self._clock = clock
        self._lifecycle: Lifecycle | None = None
        self._stop = threading.Event()  # replaced by the lifecycle's when attached
        self._held: set[tuple[str, int]] = set()
        self._reload_id: str | None = None  # the group reload this worker serves
        self._publishing = False  # states go to the group once this worker serves
        self._lock = threading.Lock()

    @property
    def lifecycle(self) -> Lifecycle:
        """The lifecycle this worker's side belongs to."""
        if self._lifecycle is None:
            raise RuntimeError("GroupSync is used once a Lifecycle attached it")
        return self._lifecycle

    def attach(self, lifecycle: Lifecycle) -> None:
        """Publish ``lifecycle``'s state changes and hold its new latest versions."""
        self._lifecycle = lifecycle
        self._stop = lifecycle.stopping
        lifecycle.manager.monitor.subscribe(self._on_state)
        lifecycle.manager.add_gate(self._gate)

    def jobs(self) -> list[Job]:
        """Look for another worker's reload every ``GROUP_CHECK_SECONDS``."""
        return [(GROUP_CHECK_SECONDS, self.check)]

    def peer_states(self) -> list[States]:
        """The version states the other workers published."""
        return self.group.peer_states()

    def adopt(self) -> bool:
        """At start, take the group's last reload as the model list, if it is still in force.

        A reload stays in force until ``--model_config_file``'s list changes, as in one
        process; a worker that replaces a dead one then serves what the others serve.

        Returns:
            True if the model list came from the group's reload.
        """
        record = self.group.reload()
        if record is None or record.file_stamp != self.lifecycle.file_stamp():
            return False
        try:
            configs = decode_configs(record.config)
        except BadConfig as exc:
            logger.error("ignoring the workers' reloaded model list: %s", exc.message)
            return False
        self.lifecycle.set_configs(configs)
        self._reload_id = record.id
        logger.info("serving the reloaded model list: %s", _names(configs))
        return True

    def started(self) -> None:
        """This worker serves from now on: publish its states, confirm an adopted reload."""
        self._publishing = True
        self.publish_states()
        if self._reload_id is not None:
            self.group.acknowledge(self._reload_id)

    def reload(self, configs: list[ModelConfig]) -> None:
        """Apply a reload request received by this worker, in every worker.

        Returns once every live worker serves the new list, or after ``PEER_RELOAD_TIMEOUT``
        (those still loading then follow when their loading is done).
        """
        record = self.group.new_reload(encode_configs(configs), self.lifecycle.file_stamp())
        self._reload_id = record.id  # before publishing: this worker's own check skips it
        self.group.publish_reload(record)
        self.lifecycle.apply_config(configs)
        self.group.acknowledge(record.id)
        started = time.monotonic()
        missing = self.group.wait_for_peers(record.id, PEER_RELOAD_TIMEOUT)
        if missing:
            logger.warning(
                "workers %s have not applied the reloaded model list after %.0fs; "
                "they will once their loading is done",
                ", ".join(map(str, missing)),
                PEER_RELOAD_TIMEOUT,
            )
        else:
            logger.info(
                "every worker serves the reloaded model list (the others took %.2fs more)",
                time.monotonic() - started,
            )

    def check(self) -> None:
        """Apply a reload another worker received since the last check; publish states."""
        record = self.group.reload_changed()
        if record is not None and record.id != self._reload_id:
            self._reload_id = record.id
            try:
                configs = decode_configs(record.config)
            except BadConfig as exc:  # the receiving worker parsed it; this cannot, so say it
                logger.error("ignoring a reloaded model list: %s", exc.message)
            else:
                logger.info("another worker reloaded the model list: %s", _names(configs))
                self.lifecycle.apply_config(configs)
            self.group.acknowledge(record.id)
        self.publish_states()

    def hold(self, served: ServedVersion) -> None:
        """Keep a loaded, warm new version from serving until the other workers loaded it too.

        Every worker holds it the same way, so they all switch to it within a check or two
        of each other instead of each as soon as its own loading ends. Returns at once when
        alone; after ``HOLD_SECONDS`` it returns anyway (logged).
        """
        if not self._publishing:
            return
        key = (served.model, served.version)
        self._held.add(key)
        started = self._clock()
        try:
            self.publish_states()
            logger.info(
                "holding %s version %d until the other workers have loaded it",
                served.model,
                served.version,
            )
            while any(
                coming_to(peer.get(served.model, {}), served.version)
                for peer in self.group.peer_states()
            ):
                if self._clock() - started >= HOLD_SECONDS:
                    logger.warning(
                        "%s version %d: the other workers have not loaded it after %.0fs; "
                        "serving it here now",
                        served.model,
                        served.version,
                        HOLD_SECONDS,
                    )
                    return
                if self._stop.wait(0.01):
                    return
        finally:
            self._held.discard(key)
        logger.info(
            "%s version %d is loaded in every worker (held %.2fs)",
            served.model,
            served.version,
            self._clock() - started,
        )

    def publish_states(self) -> None:
        """Tell the other workers the state of each version here (when it changed)."""
        if not self._publishing or self._lifecycle is None:
            return
        with self._lock:  # loads and background unloads both publish; keep the writes in order
            states = registry_states(self._lifecycle.registry)
            for model, version in self._held:
                states.get(model, {})[version] = LOADED
            self.group.publish_states(states)

    def _on_state(self, event: ServableState) -> None:
        # The others hear it at once (and again on the next check, should this write fail).
        self.publish_states()

    def _gate(self, served: ServedVersion, previous: ServedVersion | None) -> None:
        if previous is not None and served.version > previous.version:
            # The new latest version: switch when the other workers can switch too.
            self.hold(served)


def encode_configs(configs: list[ModelConfig]) -> str:
    """``configs`` as JSON, for the other workers (:func:`decode_configs` reads it back)."""
    return orjson.dumps(
        [
            {
                "name": c.name,
                "base_path": str(c.base_path),
                "runtime": c.runtime,
                "policy": [c.policy.kind, c.policy.num_versions, list(c.policy.versions)],
                "labels": c.labels,
            }
            for c in configs
        ]
    ).decode()


def decode_configs(text: str) -> list[ModelConfig]:
    """The model list :func:`encode_configs` wrote.

    Raises:
        BadConfig: ``text`` is not such a list.
    """
    try:
        items: list[dict[str, Any]] = orjson.loads(text)
        return [
            ModelConfig(
                name=str(item["name"]),
                base_path=Path(item["base_path"]),
                runtime=item["runtime"],
                policy=VersionPolicy(
                    kind, num_versions=int(count), versions=tuple(int(v) for v in versions)
                ),
                labels={str(k): int(v) for k, v in item["labels"].items()},
            )
            for item in items
            for kind, count, versions in [item["policy"]]
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise BadConfig(f"not a model list written by a worker: {exc}") from exc


def _names(configs: list[ModelConfig]) -> str:
    return ", ".join(c.name for c in configs) or "(none)"
