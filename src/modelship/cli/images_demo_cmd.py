"""``modelship demo-images``: the image classifier end to end, offline, in one command.

Writes the synthetic shapes set, trains the CNN on it, serves the version with ``modelship
serve`` (a real process) on a free local port, then classifies held-out images through the
REST API as b64 JPEGs and prints the seed's line (``predicted class= X with confidence level
of Y``) for each.
"""

from __future__ import annotations

import io
import socket
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelship.cli import app

__all__ = ["demo_images"]

console = Console()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_jpeg(path: Path) -> bytes:
    from PIL import Image

    from modelship.data.images import to_rgb

    with Image.open(path) as image:
        buffer = io.BytesIO()
        to_rgb(image).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@app.command("demo-images")
def demo_images(
    workdir: Annotated[Path, typer.Option(help="Where the data, models and pictures go.")] = Path(
        "demo-images"
    ),
    image_size: Annotated[int, typer.Option(min=16, help="Side images are resized to.")] = 96,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 8,
    images: Annotated[int, typer.Option(min=1, help="Images to classify via the API.")] = 10,
    framework: Annotated[
        str, typer.Option("--framework", "-f", help="torch or tensorflow (Keras).")
    ] = "torch",
) -> None:
    """Synthetic images -> CNN -> served version -> b64 JPEG predictions through the API."""
    from modelship.client import Client
    from modelship.data.synthetic import write_synthetic_images
    from modelship.training.image_figures import plot_prediction_grid
    from modelship.training.images import train_images

    data = workdir / "data"
    classes = write_synthetic_images(data, seed=0)
    console.print(f"[bold]1. data[/bold]: {len(classes)} classes in {data}: {', '.join(classes)}")
    console.rule("2. train")
    result = train_images(
        data,
        name="shapes",
        framework=framework,
        epochs=epochs,
        image_size=image_size,
        output=workdir / "models",
    )
    console.rule("3. serve and classify")
    from modelship.demo import start_serve_process

    port = _free_port()
    log = workdir / "serve.log"
    process, ready_after = start_serve_process("shapes", workdir / "models" / "shapes", port, log)
    url = f"http://127.0.0.1:{port}"
    console.print(f"modelship serve is ready at {url} after {ready_after:.2f} s (log: {log})")
    try:
        files = result.dataset.files_val[:: max(1, len(result.dataset.files_val) // images)]
        files = files[:images]
        with Client(url) as client:
            answers = client.classify_images("shapes", [_as_jpeg(f) for f in files])
    finally:
        process.terminate()
        process.wait(timeout=30)
    console.print(f"POST {url}/v1/models/shapes:predict with {len(files)} b64 JPEG instances")
    correct = 0
    for path, (name, confidence) in zip(files, answers, strict=True):
        correct += name == path.parent.name
        console.print(
            f"predicted class= {name} with confidence level of {confidence:.4f}"
            f"   (true: {path.parent.name})",
            markup=False,
            soft_wrap=True,
            highlight=False,
        )
    from modelship.data.images import load_pixels

    grid = plot_prediction_grid(
        [load_pixels(f, result.dataset.preprocessing) for f in files],
        [a[0] for a in answers],
        [a[1] for a in answers],
        workdir / "client_predictions.png",
        truth=[f.parent.name for f in files],
    )
    console.print(f"{correct}/{len(files)} correct through the API; grid: {grid}")
    console.print(f"pictures of training: {result.version_path}")
