"""Imports every command module so that each registers itself on the app."""

from __future__ import annotations

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
    "modelship.cli.convert_cmd",
    "modelship.cli.images_demo_cmd",
    "modelship.cli.info_cmd",
    "modelship.cli.logs_cmd",
)

for _name in MODULES:
    try:
        importlib.import_module(_name)
    except ModuleNotFoundError as exc:
        if exc.name != _name:  # a real missing dependency of an existing module: say so
            raise
