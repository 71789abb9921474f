"""modelship: train, version and serve TensorFlow and PyTorch models behind TF Serving's API."""

from __future__ import annotations

__all__ = ["__version__", "publish", "save"]

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelship.saving.api import publish, save

# Declared, not assigned: the first read goes through ``__getattr__`` below.
__version__: str


def __getattr__(name: str) -> Any:
    # The version is looked up on first use: importlib.metadata costs tens of milliseconds,
    # paid otherwise by every ``python -m modelship.healthcheck`` probe.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("modelship")
        except PackageNotFoundError:  # running from a source tree without an install
            value = "0.0.0"
        globals()["__version__"] = value
        return value
    if name in ("save", "publish"):
        # Imported on first use: ``import modelship`` stays free of numpy and the frameworks.
        from modelship.saving import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
