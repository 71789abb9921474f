"""``modelship info``: the version, and the devices each installed framework sees."""

from __future__ import annotations

import json
import platform
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from modelship.cli import app

__all__ = ["info"]


@app.command()
def info(
    as_json: Annotated[
        bool, typer.Option("--json/--table", help="Print JSON instead of a table.")
    ] = False,
) -> None:
    """Print modelship's version and the devices PyTorch, TensorFlow and onnxruntime see."""
    from modelship import __version__
    from modelship.devices import survey

    frameworks = survey()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "modelship": __version__,
                    "python": platform.python_version(),
                    "frameworks": [f.to_json() for f in frameworks],
                },
                indent=2,
            )
        )
        return
    console = Console()
    console.print(f"modelship {__version__}, Python {platform.python_version()}")
    table = Table("framework", "version", "devices", "note")
    for found in frameworks:
        devices = [g.describe() for g in found.gpus] + found.providers
        if found.installed and found.framework != "onnxruntime":
            devices.insert(0, "cpu")
        table.add_row(found.framework, found.version or "-", "\n".join(devices) or "-", found.note)
    console.print(table)
