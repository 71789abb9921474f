"""``modelship train``: train a recipe and publish it as a new model version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from modelship.cli import app
from modelship.errors import ModelshipError

__all__ = ["train"]


@app.command()
def train(
    recipe: Annotated[str, typer.Argument(help="What to train: mnist.")] = "mnist",
    framework: Annotated[
        str, typer.Option("--framework", "-f", help="torch or tensorflow.")
    ] = "torch",
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training data.")] = 5,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Directory of MNIST IDX files (downloaded there if missing). "
            "Without it, trains on scikit-learn's bundled 8x8 digits (not MNIST), offline."
        ),
    ] = None,
    output: Annotated[Path, typer.Option(help="Model repository to publish into.")] = Path(
        "models"
    ),
    version: Annotated[
        int | None, typer.Option(min=1, help="Version number; default: current unix time.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for initialisation, dropout, shuffling.")] = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="Examples per step.")] = 64,
    learning_rate: Annotated[float, typer.Option(help="Adam's learning rate.")] = 1e-3,
    threads: Annotated[
        int, typer.Option(min=0, help="CPU threads; 0 = the recipe's choice (1 for the MLP).")
    ] = 0,
    mirror: Annotated[
        list[str] | None,
        typer.Option(help="Base URL to download MNIST from (repeatable); default: public mirrors."),
    ] = None,
) -> None:
    """Train RECIPE and export it to OUTPUT/RECIPE/VERSION (ONNX, native artifact, manifest)."""
    from modelship.training import train_model

    console = Console()
    try:
        train_model(
            recipe=recipe,
            framework=framework,
            epochs=epochs,
            data_dir=data,
            output=output,
            version=version,
            seed=seed,
            batch_size=batch_size,
            learning_rate=learning_rate,
            threads=threads,
            mirrors=mirror,
            console=console,
        )
    except ModelshipError as exc:
        # escape: messages hold brackets (pip extras) that rich would read as markup
        Console(stderr=True).print(f"[red]modelship train:[/red] {escape(exc.message)}")
        raise typer.Exit(code=1) from None
