"""One worker's side of the group (:class:`GroupSync`, the lifecycle's coordinator): reloads
travel between the workers, version states are published for the others' status answers, and
a new latest version is held until every worker has it, so they switch to it together."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from modelship.errors import BadConfig
from modelship.lifecycle import Job, Lifecycle, States, registry_states
from modelship.lifecycle.config import ModelConfig, config_text, parse_model_config
from modelship.registry import ServedVersion
from modelship.serving.workers.group import LOADED, ReloadRecord, WorkerGroup, coming_to

__all__ = ["GROUP_CHECK_SECONDS", "HOLD_SECONDS", "PEER_RELOAD_TIMEOUT", "GroupSync"]

logger = logging.getLogger("modelship.workers")

# How often a worker looks for a reload another worker received (a stat of one file).
GROUP_CHECK_SECONDS = 0.05
# How long a reload request waits for the other workers to apply it before it answers anyway.
PEER_RELOAD_TIMEOUT = 120.0
# How long a loaded new version waits for the other workers to load it before it serves anyway
# (a worker that cannot load it, or does not want it, must not keep the others on the old one).
HOLD_SECONDS = 15.0


class GroupSync:
    """One worker's side of the group; ``clock`` times the hold (injected by tests)."""

    lifecycle: Lifecycle  # set by attach(), which the Lifecycle calls on creation

    def __init__(self, group: WorkerGroup, clock: Callable[[], float] = time.monotonic) -> None:
        self.group = group
        self._clock = clock
        self._held: set[tuple[str, int]] = set()
        self._reload_id: str | None = None  # the group reload this worker serves
        self._publishing = False  # states go to the group once this worker serves
        self._lock = threading.Lock()

    def attach(self, lifecycle: Lifecycle) -> None:
        """Publish ``lifecycle``'s state changes and hold its new latest versions."""
        self.lifecycle = lifecycle
        # The others hear of a change at once (and again on the next check, should it fail).
        lifecycle.manager.monitor.subscribe(lambda event: self.publish_states())
        lifecycle.manager.add_gate(self._gate)

    def jobs(self) -> list[Job]:
        """Look for another worker's reload every ``GROUP_CHECK_SECONDS``."""
        return [(GROUP_CHECK_SECONDS, self.check)]

    def peer_states(self) -> list[States]:
        """The version states the other workers published."""
        return self.group.peer_states()

    def adopt(self) -> bool:
        """At start, take the group's last reload as the model list, if it is still in force
        (until ``--model_config_file``'s list changes, as in one process); True if it did."""
        record = self.group.reload()
        if record is None or record.file_stamp != self.lifecycle.source.file_stamp():
            return False
        configs = self._decode(record.config)
        if configs is None:
            return False
        self.lifecycle.source.set_configs(configs)  # before the first poll: nothing to unload
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
        """Apply a reload request received by this worker, in every worker; returns once they
        all serve it, or after ``PEER_RELOAD_TIMEOUT`` (the others follow once loaded)."""
        record = ReloadRecord(config_text(configs), self.lifecycle.source.file_stamp())
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
            configs = self._decode(record.config)
            if configs is not None:
                logger.info("another worker reloaded the model list: %s", _names(configs))
                self.lifecycle.apply_config(configs)
            self.group.acknowledge(record.id)
        self.publish_states()

    def hold(self, served: ServedVersion) -> None:
        """Keep a loaded, warm new version from serving until the other workers loaded it too,
        so that they all switch within a check or two of each other. Returns at once when
        alone, and after ``HOLD_SECONDS`` anyway (logged)."""
        if not self._publishing:
            return
        key, name = (served.model, served.version), f"{served.model} version {served.version}"
        self._held.add(key)
        started = self._clock()
        try:
            self.publish_states()
            logger.info("holding %s until the other workers have loaded it", name)
            while any(
                coming_to(peer.get(served.model, {}), served.version)
                for peer in self.group.peer_states()
            ):
                if self._clock() - started >= HOLD_SECONDS:
                    logger.warning(
                        "%s: the other workers have not loaded it after %.0fs; serving it here now",
                        name,
                        HOLD_SECONDS,
                    )
                    return
                if self.lifecycle.stopping.wait(0.01):
                    return
        finally:
            self._held.discard(key)
        took = self._clock() - started
        logger.info("%s is loaded in every worker (held %.2fs)", name, took)

    def publish_states(self) -> None:
        """Tell the other workers the state of each version here (when it changed)."""
        if not self._publishing:
            return
        with self._lock:  # loads and background unloads both publish; keep the writes in order
            states = registry_states(self.lifecycle.registry)
            for model, version in self._held:
                states.get(model, {})[version] = LOADED
            self.group.publish_states(states)

    def _gate(self, served: ServedVersion, previous: ServedVersion | None) -> None:
        if previous is not None and served.version > previous.version:
            # The new latest version: switch when the other workers can switch too.
            self.hold(served)

    @staticmethod
    def _decode(text: str) -> list[ModelConfig] | None:
        try:
            return parse_model_config(text, origin="the workers' reloaded model list")
        except BadConfig as exc:  # the receiving worker parsed it; this one cannot: say so
            logger.error("ignoring %s", exc.message)
            return None


def _names(configs: list[ModelConfig]) -> str:
    return ", ".join(c.name for c in configs) or "(none)"
