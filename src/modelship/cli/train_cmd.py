"""``modelship train``: train a recipe and publish it as a new model version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from modelship.cli import app
from modelship.errors import BadConfig, ModelshipError

__all__ = ["train"]


@app.command()
def train(
    recipe: Annotated[
        str, typer.Argument(help="What to train: mnist, or images (a folder per class).")
    ] = "mnist",
    framework: Annotated[
        str, typer.Option("--framework", "-f", help="torch or tensorflow.")
    ] = "torch",
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="Passes over the training data [mnist: 5, images: 8]."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="mnist: directory of MNIST IDX files (downloaded there if missing); without "
            "it, MNIST cached in ~/.cache/modelship/mnist, or scikit-learn's bundled 8x8 digits "
            "(not MNIST) when it cannot be downloaded. images: a folder with "
            "one sub-folder of JPEG/PNG images per class; without it, bundled synthetic shapes."
        ),
    ] = None,
    output: Annotated[Path, typer.Option(help="Model repository to publish into.")] = Path(
        "models"
    ),
    version: Annotated[
        int | None, typer.Option(min=1, help="Version number; default: current unix time.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for initialisation, dropout, shuffling.")] = 0,
    batch_size: Annotated[
        int | None, typer.Option(min=1, help="Examples per step [mnist: 64, images: 16].")
    ] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="Adam's learning rate [mnist: 0.001, images: 0.003].")
    ] = None,
    threads: Annotated[
        int, typer.Option(min=0, help="CPU threads; 0 = the recipe's choice (1 for the MLP).")
    ] = 0,
    mirror: Annotated[
        list[str] | None,
        typer.Option(help="Base URL to download MNIST from (repeatable); default: public mirrors."),
    ] = None,
    image_size: Annotated[
        int, typer.Option(min=16, help="images: side the images are resized to.")
    ] = 224,
    name: Annotated[
        str | None, typer.Option(help="images: model name, the folder under OUTPUT [images].")
    ] = None,
    augment: Annotated[
        bool, typer.Option(help="images: random flips and shifts of the training images.")
    ] = True,
    val_fraction: Annotated[
        float,
        typer.Option(min=0.05, max=0.5, help="images: share of each class held out to validate."),
    ] = 0.2,
    device: Annotated[
        str, typer.Option(help="Where to train: auto (a GPU when there is one), cpu, cuda[:N].")
    ] = "auto",
    amp: Annotated[
        str,
        typer.Option(help="Mixed precision on a GPU, PyTorch: off, bf16 or fp16 (loss-scaled)."),
    ] = "off",
    signature_name: Annotated[
        str,
        typer.Option(
            help="mnist: the signature to serve under (TF Serving's example: predict_images)."
        ),
    ] = "serving_default",
    input_name: Annotated[str, typer.Option(help="mnist: the input tensor's name.")] = "images",
    output_name: Annotated[
        str, typer.Option(help="mnist: the output tensor's name (TF Serving's example: scores).")
    ] = "probabilities",
) -> None:
    """Train RECIPE and export it to OUTPUT/RECIPE/VERSION (ONNX, native artifact, manifest)."""
    # Unset options take each recipe's own defaults: an MLP on 60,000 digits and a CNN on a
    # few hundred photos do not want the same epochs, batch size or learning rate.
    tuning: dict[str, Any] = {
        k: v
        for k, v in {
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
        }.items()
        if v is not None
    }
    console = Console()
    try:
        from modelship.training.serving_names import ServingNames

        names = ServingNames(signature_name, input_name, output_name)
        if recipe == "images":
            if not names.default:
                raise BadConfig(
                    "--signature-name, --input-name and --output-name apply to the mnist recipe"
                )
            from modelship.training.images import train_images

            train_images(
                data,
                name=name or "images",
                framework=framework,
                image_size=image_size,
                augmentation=augment,
                val_fraction=val_fraction,
                output=output,
                version=version,
                seed=seed,
                threads=threads,
                console=console,
                device=device,
                amp=amp,
                **tuning,
            )
            return
        from modelship.training import train_model

        train_model(
            recipe=recipe,
            framework=framework,
            data_dir=data,
            output=output,
            version=version,
            seed=seed,
            threads=threads,
            mirrors=mirror,
            console=console,
            device=device,
            amp=amp,
            names=names,
            **tuning,
        )
    except ModelshipError as exc:
        # escape: messages hold brackets (pip extras) that rich would read as markup
        Console(stderr=True).print(f"[red]modelship train:[/red] {escape(exc.message)}")
        raise typer.Exit(code=1) from None
