"""Fills a registry from the settings: which models, and which of their versions to load."""

from __future__ import annotations

import logging

from modelship.errors import BadConfig
from modelship.registry import Registry, ServedVersion
from modelship.repository import list_versions, version_path
from modelship.settings import ServeSettings

__all__ = ["load_initial_versions"]

logger = logging.getLogger("modelship.serve")


def load_initial_versions(registry: Registry, settings: ServeSettings) -> None:
    """Register the configured model and load its highest version.

    Raises:
        BadConfig: the base path holds no version, or the version to serve fails to load;
            the message says which path and why, so ``serve`` can exit with it.
    """
    name = settings.model_name
    base_path = settings.resolved_base_path()
    registry.add_model(name, base_path)
    versions = list_versions(base_path)
    if not versions:
        hint = "" if base_path.is_dir() else " (the directory does not exist)"
        raise BadConfig(
            f"no model version found under {base_path}{hint}: expected numbered directories "
            f"like {base_path}/1/model.onnx; train one with `modelship train`"
        )
    latest = versions[-1]
    served = ServedVersion(model=name, version=latest, path=version_path(base_path, latest))
    served.load(threads=settings.intra_op_threads)
    registry.set_version(served)
    if not served.available:
        raise BadConfig(
            f"cannot serve {name} version {latest} from {served.path}: {served.error_message}"
        )
    logger.info("loaded %s version %d from %s", name, latest, served.path)
