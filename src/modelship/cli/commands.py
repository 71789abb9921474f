"""Imports every command module so that each registers itself on the app."""

from __future__ import annotations

import contextlib
import importlib

# Command modules, one per group; a module missing from an install (e.g. a stripped serving image)
# simply leaves its commands out.
MODULES = (
    "modelship.cli.train_cmd",
    "modelship.cli.serve_cmd",
    "modelship.cli.predict_cmd",
    "modelship.cli.demo_cmd",
    "modelship.cli.containerize_cmd",
    "modelship.cli.lifecycle_cmd",
    "modelship.cli.models_cmd",
)

for _name in MODULES:
    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module(_name)
