"""``modelship predict``: send files to a running server, print what the model answers.

For a model with image preprocessing (its metadata says so) each file is sent as it is, b64,
and the server names the class. Otherwise files become the signature's tensors: one file per
request for a one-input model, ``--input name=FILE`` (or an .npz / .json object holding an
array per input) for several inputs. A single ``[batch, classes]`` output prints the class and
its confidence, with the version's labels; any other answer prints every output per example.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import typer
from rich.console import Console

from modelship.cli import app

out = Console()
err = Console(stderr=True)


@app.command()
def predict(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="PNG/JPEG images, .npy, .npz or .json arrays; one request each"),
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", help="NAME=FILE for one input of a several-input model (repeatable)"
        ),
    ] = None,
    url: Annotated[str, typer.Option(help="Server URL")] = "http://localhost:8501",
    model: Annotated[str, typer.Option(help="Model name")] = "mnist",
    version: Annotated[int | None, typer.Option(help="Model version (default: latest)")] = None,
    label: Annotated[str | None, typer.Option(help="Version label, e.g. stable")] = None,
) -> None:
    """Predict through the REST API: the class of each input, or every output."""
    from modelship.client import Client, ServerError
    from modelship.client.rest import version_labels

    if not files and not inputs:
        err.print("[red]error:[/red] give files, or --input NAME=FILE for each input")
        raise typer.Exit(2)
    try:
        with Client(url) as client:
            meta = client.metadata(model, version=version, label=label)
            signatures = meta["metadata"]["signature_def"]["signature_def"]
            signature = signatures.get("serving_default") or next(iter(signatures.values()))
            specs = {name: _spec(tensor) for name, tensor in signature["inputs"].items()}
            lineage = meta["metadata"].get("modelship", {})
            if files and lineage.get("preprocessing", {}).get("kind") == "image":
                _predict_images(client, model, files, version, label)
                return
            labels = version_labels(meta)
            lines = []
            for title, arrays in _requests(files or [], inputs or [], specs):
                answer = client.predict(model, inputs=arrays, version=version, label=label)
                if not isinstance(answer, dict):  # TF Serving answers one output bare
                    names = list(signature["outputs"])
                    answer = {names[0] if len(names) == 1 else "output": answer}
                lines += _describe(title, answer, labels)
    except ServerError as exc:
        err.print(f"[red]server error {exc.status}:[/red] {exc.message}")
        raise typer.Exit(1) from None
    except (OSError, ValueError, KeyError, httpx.HTTPError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    for line in lines:
        out.print(line, soft_wrap=True, highlight=False, markup=False)


def _spec(tensor: dict[str, Any]) -> tuple[str, tuple[int, ...]]:
    from modelship.codecs.dtypes import by_tf_name

    entry = by_tf_name(str(tensor.get("dtype", "DT_FLOAT")))
    dtype = entry.numpy.name if entry is not None else "float32"
    dims = tuple(int(d["size"]) for d in tensor.get("tensor_shape", {}).get("dim", [])[1:])
    return dtype, dims


def _requests(
    files: list[Path], named: list[str], specs: dict[str, tuple[str, tuple[int, ...]]]
) -> list[tuple[str, dict[str, Any]]]:
    """(title, columnar inputs) per request: one per file, and one for the --input files."""
    from modelship.client.inputs import load_examples, load_named

    requests = []
    for path in files:
        if path.suffix.lower() == ".npz" or (len(specs) > 1 and path.suffix.lower() == ".json"):
            arrays = load_named(path, specs)
        elif len(specs) == 1:
            ((name, (dtype, dims)),) = specs.items()
            arrays = {name: load_examples(path, dims, dtype)}
        else:
            raise ValueError(
                f"the model takes {len(specs)} inputs ({', '.join(specs)}): pass "
                f"--input NAME=FILE for each, or an .npz / .json object naming them ({path})"
            )
        requests.append((str(path), _lists(arrays)))
    if named:
        arrays = {}
        for item in named:
            name, sep, file = item.partition("=")
            if not sep or name not in specs:
                raise ValueError(
                    f"--input {item}: expected NAME=FILE, NAME one of {', '.join(specs)}"
                )
            dtype, dims = specs[name]
            arrays[name] = load_examples(Path(file), dims, dtype)
        missing = [name for name in specs if name not in arrays]
        if missing:
            raise ValueError(f"missing --input for {', '.join(missing)}")
        requests.append((",".join(named), _lists(arrays)))
    return requests


def _lists(arrays: dict[str, Any]) -> dict[str, Any]:
    return {name: np.asarray(value).tolist() for name, value in arrays.items()}


def _describe(title: str, outputs: dict[str, Any], labels: list[str] | None) -> list[str]:
    """The seed's class-and-confidence line per example for one ``[batch, classes]`` output;
    every output's values per example otherwise."""
    from modelship.client import top_class

    if len(outputs) == 1:
        (values,) = outputs.values()
        array = np.asarray(values)
        if array.ndim == 2 and array.shape[1] > 1 and array.dtype.kind == "f":
            results = top_class(array, labels)
            return [
                f"{title if len(results) == 1 else f'{title}[{i}]'}: predicted class {name} "
                f"with confidence {confidence:.4f}"
                for i, (name, confidence) in enumerate(results)
            ]
    rows = min(len(v) if isinstance(v, list) else 1 for v in outputs.values())
    lines = []
    for i in range(rows):
        where = title if rows == 1 else f"{title}[{i}]"
        parts = [
            f"{name}={json.dumps(v[i] if isinstance(v, list) else v)}"
            for name, v in outputs.items()
        ]
        lines.append(f"{where}: {' '.join(parts)}")
    return lines


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
