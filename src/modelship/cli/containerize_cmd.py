"""``modelship containerize``: a serving image with a model's versions baked in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelship.cli import app

out = Console()
err = Console(stderr=True)


@app.command()
def containerize(
    model_name: Annotated[
        str,
        typer.Option("--model_name", "--model-name", help="Name clients use in /v1/models/NAME"),
    ],
    model_base_path: Annotated[
        Path,
        typer.Option(
            "--model_base_path", "--model-base-path", help="Directory of numbered versions"
        ),
    ],
    tag: Annotated[
        str | None, typer.Option(help="Image name [default modelship/NAME:LATEST_VERSION]")
    ] = None,
    serving_image: Annotated[
        str | None,
        typer.Option(
            "--serving-image",
            help="Image to add the model to (built if missing) [default: the one the versions "
            "need: modelship/serving:latest, :torch or :tensorflow]",
        ),
    ] = None,
    runtime: Annotated[
        str | None,
        typer.Option(
            help="Force the serving image's runtime: onnx, torch or tensorflow "
            "[default: chosen from the versions' artifacts]"
        ),
    ] = None,
    base_image: Annotated[
        str | None,
        typer.Option("--base-image", help="Base of the serving image if it must be built"),
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option("--ca-bundle", help="CA bundle for pip while building the serving image"),
    ] = None,
    wheelhouse: Annotated[
        Path | None,
        typer.Option("--wheelhouse", help="Build the serving image offline from these wheels"),
    ] = None,
) -> None:
    """Build a Docker image that serves MODEL_NAME's versions (TF Serving's layout and ports)."""
    from modelship.containerize import containerize as build
    from modelship.errors import ModelshipError
    from modelship.serving_image import ImageChoice

    def announce(choice: ImageChoice) -> None:
        image = serving_image or choice.image
        err.print(f"serving image {image} ({choice.runtime} runtime): {choice.reason}")

    try:
        with err.status(f"building the image for {model_name}..."):
            image = build(
                model_name,
                model_base_path,
                tag=tag,
                serving_image=serving_image,
                runtime=runtime,
                base_image=base_image,
                ca_bundle=ca_bundle,
                wheelhouse=wheelhouse,
                on_choice=announce,
            )
    except ModelshipError as exc:
        err.print(f"[red]modelship containerize:[/red] {exc.message}")
        raise typer.Exit(1) from None
    versions = ", ".join(map(str, image.versions))
    out.print(
        f"built {image.tag} ({image.size_bytes / 1e6:.0f} MB): {model_name} versions {versions}"
    )
    out.print(f"run it: docker run -p 8501:8501 {image.tag}")
