"""``modelship demo``: the main job, end to end, on the bundled data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelship.cli import app


@app.command()
def demo(
    framework: Annotated[str, typer.Option(help="torch or tensorflow")] = "torch",
    epochs: Annotated[int, typer.Option(help="Training epochs")] = 5,
    output: Annotated[Path, typer.Option(help="Model repository")] = Path("models"),
    data: Annotated[
        Path | None,
        typer.Option(help="MNIST IDX directory (default: the MNIST cache, else bundled digits)"),
    ] = None,
) -> None:
    """Train on the bundled data, export a version, serve it, predict the test split over REST."""
    from modelship.demo import run_demo

    ok = run_demo(framework=framework, epochs=epochs, output=output, data_dir=data)
    if not ok:
        raise typer.Exit(1)
