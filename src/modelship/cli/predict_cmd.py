"""``modelship predict``: send files to a running server, print class and confidence.

For a model with image preprocessing (its metadata says so) each file is sent as it is, b64,
and the server names the class; otherwise files become float tensors (MNIST's 28x28 grayscale).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from modelship.cli import app

out = Console()
err = Console(stderr=True)


@app.command()
def predict(
    files: Annotated[list[Path], typer.Argument(help="PNG/JPEG images, .npy or .json arrays")],
    url: Annotated[str, typer.Option(help="Server URL")] = "http://localhost:8501",
    model: Annotated[str, typer.Option(help="Model name")] = "mnist",
    version: Annotated[int | None, typer.Option(help="Model version (default: latest)")] = None,
    label: Annotated[str | None, typer.Option(help="Version label, e.g. stable")] = None,
) -> None:
    """Predict the class of each input through the REST API."""
    from modelship.client import Client, ServerError
    from modelship.client.inputs import load_examples

    try:
        with Client(url) as client:
            meta = client.metadata(model, version=version, label=label)
            signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
            (tensor,) = signature["inputs"].values()
            dims = tuple(int(d["size"]) for d in tensor["tensor_shape"]["dim"][1:])
            lineage = meta["metadata"].get("modelship", {})
            if lineage.get("preprocessing", {}).get("kind") == "image":
                _predict_images(client, model, files, version, label)
                return
            labels = lineage.get("labels") or None
            lines = []
            for path in files:
                batch = load_examples(path, dims)
                results = client.classify(model, batch, labels, version=version, label=label)
                for i, (name, confidence) in enumerate(results):
                    where = str(path) if len(results) == 1 else f"{path}[{i}]"
                    # The seed's wording, one line per input, easy to grep.
                    lines.append(
                        f"{where}: predicted class {name} with confidence {confidence:.4f}"
                    )
    except ServerError as exc:
        err.print(f"[red]server error {exc.status}:[/red] {exc.message}")
        raise typer.Exit(1) from None
    except (OSError, ValueError, httpx.HTTPError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    for line in lines:
        out.print(line, soft_wrap=True, highlight=False)


# Images per request: large enough to amortise the round trip, small enough for the body limit.
_IMAGES_PER_REQUEST = 16


def _predict_images(
    client: Any, model: str, files: list[Path], version: int | None, label: str | None
) -> None:
    """Send the files as b64 images; print the seed's line for each."""
    for start in range(0, len(files), _IMAGES_PER_REQUEST):
        chunk = files[start : start + _IMAGES_PER_REQUEST]
        results = client.classify_images(model, chunk, version=version, label=label)
        for path, (name, confidence) in zip(chunk, results, strict=True):
            # The same line as for tensor inputs, so scripts parse both alike.
            out.print(
                f"{path}: predicted class {name} with confidence {confidence:.4f}",
                soft_wrap=True,
                markup=False,
                highlight=False,
            )
