"""``modelship convert``: a model file (or SavedModel directory) becomes a new, checked version."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from modelship.cli import app
from modelship.errors import ModelshipError

__all__ = ["EXIT_LEFT_OUT", "convert"]

# Published, but an artifact (e.g. a model.onnx tf2onnx could not convert) was left out.
EXIT_LEFT_OUT = 3


@app.command()
def convert(
    model_file: Annotated[
        Path,
        typer.Argument(
            help="A SavedModel directory, or a .onnx, .pt2, TorchScript (.ts, .pt), pickled "
            "PyTorch module (.pt, .pth), .keras, .h5 or .hdf5 file."
        ),
    ],
    name: Annotated[str, typer.Option(help="Model name: the folder under --output.")],
    output: Annotated[Path, typer.Option(help="Model repository to publish into.")] = Path(
        "models"
    ),
    version: Annotated[
        int | None, typer.Option(min=1, help="Version number; default: current unix time.")
    ] = None,
    example: Annotated[
        Path | None,
        typer.Option(
            help="Example inputs, .npy (one input) or .npz (one array per input name): the "
            "export is checked on them. Needed for TorchScript and pickled PyTorch modules."
        ),
    ] = None,
    signature_name: Annotated[
        str | None, typer.Option(help="The signature's name (default serving_default).")
    ] = None,
    input_name: Annotated[
        list[str] | None, typer.Option(help="A PyTorch model's input names, in order.")
    ] = None,
    output_name: Annotated[
        list[str] | None, typer.Option(help="A PyTorch model's output names, in order.")
    ] = None,
    onnx: Annotated[
        bool, typer.Option(help="Also write a checked model.onnx when the model converts.")
    ] = True,
    dynamic_batch: Annotated[
        bool, typer.Option(help="Export PyTorch modules for any batch size.")
    ] = True,
) -> None:
    """Publish MODEL_FILE as OUTPUT/NAME/VERSION, each artifact checked against the original.

    Exit codes: 0 published; 1 nothing published (the error says why); 3 published without
    an optional artifact (a model.onnx that did not convert or failed its check: the warning
    says why, and --no-onnx skips the conversion).
    """
    from modelship.convert import convert_file, read_example

    console = Console()
    errors = Console(stderr=True)
    try:
        inputs = read_example(example) if example is not None else None
        with console.status(f"converting {model_file}"), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # left-out artifacts are printed below
            result = convert_file(
                model_file,
                name,
                output,
                version,
                example=inputs,
                signature_name=signature_name,
                input_names=input_name or None,
                output_names=output_name or None,
                onnx=onnx,
                dynamic_batch=dynamic_batch,
            )
    except ModelshipError as exc:
        errors.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(code=1) from exc
    signature = result.manifest.default_signature
    inputs_text = ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in signature.inputs.items())
    outputs_text = ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in signature.outputs.items())
    console.print(f"{signature.name}: {inputs_text} -> {outputs_text}", highlight=False)
    for artifact, check in result.checks.items():
        compared = (
            f"max |diff| {check.max_abs_error:.3g} (rtol {check.rtol:g}, atol {check.atol:g})"
            if check.compared
            else "loads and runs (no original to compare with)"
        )
        console.print(f"checked {artifact} with {check.runtime}: {compared}", highlight=False)
    for message in result.warnings:
        errors.print(f"[yellow]warning:[/yellow] {escape(message)}")
    console.print(f"exported version {result.version}: {result.path}", highlight=False)
    if result.warnings:
        raise typer.Exit(code=EXIT_LEFT_OUT)
