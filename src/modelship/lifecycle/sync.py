"""Keeps one worker's lifecycle in step with the other workers of its server.

A reload request received by this worker is handed to the others through the group's
directory, and answered once they serve it too; a reload received by another worker is applied
here; this worker's version states are published for the others' status answers.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from modelship.errors import BadConfig
from modelship.lifecycle.config import ModelConfig, parse_model_config
from modelship.lifecycle.group import LOADED, States, WorkerGroup, coming_to
from modelship.registry import ServedVersion

if TYPE_CHECKING:
    from modelship.lifecycle.watcher import Lifecycle

__all__ = ["GROUP_CHECK_SECONDS", "HOLD_SECONDS", "PEER_RELOAD_TIMEOUT", "GroupSync"]

logger = logging.getLogger("modelship.lifecycle")

# How often a worker looks for a reload another worker received (a stat of one file).
GROUP_CHECK_SECONDS = 0.05
# How long a reload request waits for the other workers to apply it before it answers anyway.
PEER_RELOAD_TIMEOUT = 120.0
# How long a loaded new version waits for the other workers to load it before it serves anyway
# (a worker that cannot load it, or does not want it, must not keep the others on the old one).
HOLD_SECONDS = 15.0


class GroupSync:
    """One worker's side of the group.

    Args:
        lifecycle: this worker's lifecycle.
        group: the group's shared directory.
        stop: set when the lifecycle stops (ends a hold early).
    """

    def __init__(self, lifecycle: Lifecycle, group: WorkerGroup, stop: threading.Event) -> None:
        self.lifecycle = lifecycle
        self.group = group
        self._stop = stop
        self._held: set[tuple[str, int]] = set()
        self._reload_id: str | None = None  # the group reload this worker serves
        self._publishing = False  # states go to the group once this worker serves
        self._lock = threading.Lock()

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
            configs = parse_model_config(record.config, origin="ReloadConfigRequest")
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

    def reload(self, configs: list[ModelConfig], text: str) -> None:
        """Apply a reload request received by this worker, in every worker.

        Returns once every live worker serves the new list, or after ``PEER_RELOAD_TIMEOUT``
        (those still loading then follow when their loading is done).

        Args:
            configs: the parsed model list.
            text: the same list as a ``ModelServerConfig`` text proto.
        """
        record = self.group.new_reload(text, self.lifecycle.file_stamp())
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
                configs = parse_model_config(record.config, origin="ReloadConfigRequest")
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
        started = time.monotonic()
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
                if time.monotonic() - started >= HOLD_SECONDS:
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
            time.monotonic() - started,
        )

    def publish_states(self) -> None:
        """Tell the other workers the state of each version here (when it changed)."""
        if not self._publishing:
            return
        with self._lock:  # timers and the watcher both publish; keep the writes in order
            states: States = {
                entry.name: {
                    v: LOADED if (entry.name, v) in self._held else served.state
                    for v, served in list(entry.versions.items())
                }
                for entry in self.lifecycle.registry.models()
            }
            self.group.publish_states(states)


def _names(configs: list[ModelConfig]) -> str:
    return ", ".join(c.name for c in configs) or "(none)"
