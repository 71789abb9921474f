"""``modelship validate``, ``promote`` and ``rollback``: gate versions before they take traffic."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelship.cli import app
from modelship.errors import ModelshipError

out = Console()
err = Console(stderr=True)


@app.command()
def validate(
    candidate: Annotated[Path, typer.Argument(help="The candidate's version directory")],
    data: Annotated[
        str,
        typer.Option(
            help="bundled, an MNIST directory, or a .npz: labels y with x (one input) "
            "or one array per input name"
        ),
    ],
    against: Annotated[
        str | None,
        typer.Option(
            help="Serving version: its directory, or a URL like http://h:8501/v1/models/m"
        ),
    ] = None,
    min_accuracy: Annotated[float, typer.Option(help="Accuracy floor")] = 0.9,
    max_accuracy_drop: Annotated[
        float, typer.Option(help="Largest accuracy loss vs serving")
    ] = 0.01,
    max_class_drop: Annotated[float, typer.Option(help="Largest loss on any one class")] = 0.05,
    min_agreement: Annotated[float, typer.Option(help="Least top-class agreement")] = 0.9,
    max_mean_shift: Annotated[float, typer.Option(help="Largest input mean shift, in std")] = 0.5,
) -> None:
    """Check a candidate version; writes validation.json into it and exits 1 if it failed."""
    from modelship.validation import Thresholds, validate
    from modelship.validation.data import load_eval_data

    limits = Thresholds(
        min_accuracy=min_accuracy,
        max_accuracy_drop=max_accuracy_drop,
        max_class_drop=max_class_drop,
        min_agreement=min_agreement,
        max_mean_shift=max_mean_shift,
    )
    try:
        report = validate(candidate, load_eval_data(data), against, limits)
    except ModelshipError as exc:
        err.print(f"[red]modelship validate:[/red] {exc.message}")
        raise typer.Exit(2) from None
    path = report.write(candidate)
    out.print(report.table())
    out.print(f"report written to {path}")
    if not report.passed:
        names = ", ".join(check.name for check in report.failures())
        err.print(f"[red]validation failed:[/red] {names}")
        raise typer.Exit(1)


@app.command()
def promote(
    name: Annotated[str, typer.Argument(help="Model name (its folder in the repository)")],
    version: Annotated[int, typer.Argument(help="Version to promote")],
    repo: Annotated[Path, typer.Option(help="Model repository")] = Path("models"),
    label: Annotated[str, typer.Option(help="Label to point at the version")] = "stable",
    force: Annotated[bool, typer.Option(help="Promote even without a passed validation")] = False,
) -> None:
    """Point a label at a version whose validation passed; a serving watcher picks it up."""
    from modelship.lifecycle.labels import LabelsFile
    from modelship.validation import Report

    base = repo / name
    path = base / str(version)
    if not path.is_dir():
        err.print(f"[red]modelship promote:[/red] no version directory {path}")
        raise typer.Exit(2)
    report = Report.read(path)
    note = "validation passed" if report is not None and report.passed else ""
    if not note:
        reason = "was never validated" if report is None else "failed validation"
        if not force:
            err.print(
                f"[red]modelship promote:[/red] {name} version {version} {reason}; run "
                f"`modelship validate {path} --data ...` first, or pass --force"
            )
            raise typer.Exit(1)
        note = f"forced: {reason}"
    try:
        labels = LabelsFile.read(base)
        previous = labels.labels.get(label)
        labels.promote(label, version, forced=force and note.startswith("forced"), note=note)
        written = labels.write(base)
    except ModelshipError as exc:
        err.print(f"[red]modelship promote:[/red] {exc.message}")
        raise typer.Exit(2) from None
    out.print(f"{name}: {label} -> {version} (was {previous}; {note}); written to {written}")


@app.command()
def rollback(
    name: Annotated[str, typer.Argument(help="Model name")],
    repo: Annotated[Path, typer.Option(help="Model repository")] = Path("models"),
    label: Annotated[str, typer.Option(help="Label to move back")] = "stable",
) -> None:
    """Move a label back to the version it held before its last promotion."""
    from modelship.lifecycle.labels import LabelsFile

    base = repo / name
    try:
        labels = LabelsFile.read(base)
        current = labels.labels.get(label)
        version = labels.rollback(label)
        labels.write(base)
    except ModelshipError as exc:
        err.print(f"[red]modelship rollback:[/red] {exc.message}")
        raise typer.Exit(1) from None
    out.print(f"{name}: {label} -> {version} (was {current})")
