"""The source: which versions of which models should be loaded (TF Serving's ``Source``): the
repository listing, the version policy and the labels (the config's, overridden by
``labels.json``), less the versions that failed and have not changed since."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from modelship.errors import BadConfig
from modelship.lifecycle.config import ModelConfig, config_text, read_model_config_file
from modelship.lifecycle.labels import LabelsFile
from modelship.repository import list_versions, version_path
from modelship.settings import ServeSettings

__all__ = ["AspiredVersions", "FailedVersions", "ModelSource"]

logger = logging.getLogger("modelship.lifecycle")


def _files_stamp(path: Path) -> object:
    """Names, sizes and modification times of a version's files: changes when they change."""
    try:
        return sorted(
            (str(p.relative_to(path)), p.stat().st_size, p.stat().st_mtime_ns)
            for p in path.rglob("*")
        )
    except OSError:
        return None


class FailedVersions:
    """Versions that failed to load, not retried (a load and a log line each poll) until
    anything in their directory changes: a re-export, a fixed file."""

    def __init__(self) -> None:
        self._stamps: dict[tuple[str, int], object] = {}

    def record(self, model: str, version: int, path: Path) -> None:
        """Remember that ``version`` of ``model``, in ``path``, failed to load."""
        self._stamps[(model, version)] = _files_stamp(path)

    def still_failed(self, model: str, version: int, path: Path) -> bool:
        """Whether the version failed and its files have not changed since."""
        key = (model, version)
        if key not in self._stamps:
            return False
        if self._stamps[key] == _files_stamp(path):
            return True
        del self._stamps[key]  # its files changed: worth another try
        return False

    def forget(self, model: str, version: int | None = None) -> None:
        """Forget one version of ``model``, or all of them when ``version`` is None."""
        if version is not None:
            self._stamps.pop((model, version), None)
        else:
            self._stamps = {k: v for k, v in self._stamps.items() if k[0] != model}


@dataclass(frozen=True)
class AspiredVersions:
    """What one model (``config``) should serve, as the repository and its labels say now:
    ``on_disk`` (any other version is unloaded) and ``labels`` (label -> version, loaded beside
    the policy's versions)."""

    config: ModelConfig
    on_disk: frozenset[int]
    labels: dict[str, int]

    def wanted(self, failed: FailedVersions) -> set[int]:
        """The policy's and the labels' versions among those that may load (a failed one is
        no candidate, so the latest policy falls back to the newest version that works)."""
        config = self.config
        candidates = {
            v
            for v in self.on_disk
            if not failed.still_failed(config.name, v, version_path(config.base_path, v))
        }
        return config.policy.select(candidates) | (set(self.labels.values()) & candidates)


class ModelSource:
    """The model list (``--model_name``, ``--model_config_file`` or the last reload request)
    and, per model, its aspired versions."""

    def __init__(self, settings: ServeSettings, configs: list[ModelConfig]) -> None:
        self.settings = settings
        self.configs = list(configs)  # the models to serve now (their names are unique)
        self._file_configs = configs if settings.model_config_file is not None else []

    def set_configs(self, configs: list[ModelConfig]) -> list[str]:
        """Replace the model list; the names of the models it no longer holds."""
        names = {c.name for c in configs}
        removed = [c.name for c in self.configs if c.name not in names]
        self.configs = list(configs)
        return removed

    def aspired(self, config: ModelConfig) -> AspiredVersions:
        """List ``config``'s repository and read its ``labels.json``."""
        try:
            labels_file = LabelsFile.read(config.base_path).labels
        except BadConfig as exc:
            logger.error("ignoring labels of %s: %s", config.name, exc.message)
            labels_file = {}
        return AspiredVersions(
            config=config,
            on_disk=frozenset(list_versions(config.base_path)),
            labels={**config.labels, **labels_file},  # what promote and rollback wrote wins
        )

    def changed_config_file(self) -> list[ModelConfig] | None:
        """``--model_config_file``'s list if it changed since last read, else ``None`` (also
        for a broken file, logged). A reload request's list stays until the file changes."""
        path = self.settings.model_config_file
        if path is None:
            return None
        try:
            configs = read_model_config_file(path)
        except BadConfig as exc:
            logger.error("keeping the current models: %s", exc.message)
            return None
        if configs == self._file_configs:
            return None
        self._file_configs = configs
        logger.info("model config file changed: %s", ", ".join(c.name for c in configs))
        return configs

    def file_stamp(self) -> str | None:
        """A digest of ``--model_config_file``'s model list as this process last read it."""
        if self.settings.model_config_file is None:
            return None
        # Order-free: another process may list the models (or labels: the text sorts them) in
        # another order.
        text = config_text(sorted(self._file_configs, key=lambda c: c.name))
        return hashlib.sha256(text.encode()).hexdigest()
