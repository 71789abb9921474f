"""``modelship predict``: send files to a running server, print class and confidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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
            labels = meta["metadata"].get("modelship", {}).get("labels") or None
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
