"""``modelship convert``: a Keras model file becomes a new servable model version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from modelship.cli import app
from modelship.errors import ModelshipError

__all__ = ["convert"]


@app.command()
def convert(
    model_file: Annotated[
        Path, typer.Argument(help="A Keras model saved with model.save: MODEL.h5 or MODEL.keras.")
    ],
    name: Annotated[str, typer.Option(help="Model name: the folder under --output.")],
    output: Annotated[Path, typer.Option(help="Model repository to publish into.")] = Path(
        "models"
    ),
    version: Annotated[
        int | None, typer.Option(min=1, help="Version number; default: current unix time.")
    ] = None,
) -> None:
    """Convert MODEL_FILE to OUTPUT/NAME/VERSION: SavedModel, model.onnx and modelship.json."""
    from modelship.convert import convert_keras

    console = Console()
    try:
        with console.status(f"converting {model_file}"):
            path, manifest = convert_keras(model_file, name, output, version)
    except ModelshipError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(code=1) from exc
    signature = manifest.default_signature
    inputs = ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in signature.inputs.items())
    outputs = ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in signature.outputs.items())
    console.print(f"serving_default: {inputs} -> {outputs}")
    console.print(f"exported version {manifest.version}: {path}")
