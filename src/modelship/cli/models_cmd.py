"""``modelship models list|show``: lineage of every version, read from the repository alone."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from modelship.cli import app

out = Console()
err = Console(stderr=True)
models_app = typer.Typer(help="Versions on disk: metrics, data, parameters, validation.")
app.add_typer(models_app, name="models")

RepoOption = Annotated[Path, typer.Option(help="Model repository")]


def _scalar_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if isinstance(v, int | float | str)}


def _short(text: str | None, width: int = 19) -> str:
    if not text:
        return "-"
    return text if len(text) <= width else text[:width] + "…"


def _widest(texts: Iterable[str]) -> int:
    return max((len(t) for t in texts), default=1)


@models_app.command("list")
def list_models(
    name: Annotated[str | None, typer.Argument(help="A model: list its versions")] = None,
    repo: RepoOption = Path("models"),
) -> None:
    """The models in the repository, or one model's versions."""
    from modelship.lineage import model_names, version_records

    if name is None:
        rows = []
        for model in model_names(repo):
            records = version_records(repo / model)
            labels = records[0].labels_file if records else {}
            rows.append(
                (
                    model,
                    str(len(records)),
                    str(records[-1].version) if records else "-",
                    ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "-",
                )
            )
        table = Table(title=f"models in {repo}")
        table.add_column("model", no_wrap=True, min_width=_widest(r[0] for r in rows))
        table.add_column("versions")
        # Version numbers are what a user copies: never cut, whatever the terminal's width.
        table.add_column("latest", no_wrap=True, min_width=_widest(r[2] for r in rows))
        table.add_column("labels", overflow="fold")
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    records = version_records(repo / name)
    if not records:
        err.print(f"[red]no versions under {repo / name}[/red]")
        raise typer.Exit(1)
    table = Table(title=f"{name} ({repo / name})")
    widest = _widest(str(r.version) for r in records)
    table.add_column("version", no_wrap=True, min_width=widest)
    for column in ("created_at", "framework", "metrics", "data", "validation", "labels"):
        table.add_column(column, overflow="fold")
    for record in records:
        metrics = _scalar_metrics(record.manifest.get("metrics", {}))
        table.add_row(
            str(record.version),
            record.manifest.get("created_at") or "-",
            record.manifest.get("framework") or "-",
            ", ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()
            )
            or "-",
            _short(record.manifest.get("data", {}).get("fingerprint")),
            record.validation_summary(),
            ", ".join(record.labels) or "-",
        )
    out.print(table)


def _checks(verification: Any) -> str:
    """How ``modelship.save`` checked each artifact against the original model, one per line."""
    if not isinstance(verification, dict):
        return "-"
    lines = [
        f"{name}: {check.get('runtime')}, max |diff| {check.get('max_abs_error', 0):.3g} "
        f"(rtol {check.get('rtol')}, atol {check.get('atol')})"
        for name, check in dict(verification.get("artifacts") or {}).items()
        if isinstance(check, dict)
    ]
    lines += [str(message) for message in verification.get("left_out") or []]
    return "\n".join(lines) or "-"


@models_app.command("show")
def show(
    name: Annotated[str, typer.Argument(help="Model name")],
    version: Annotated[int | None, typer.Argument(help="Version (default: the latest)")] = None,
    repo: RepoOption = Path("models"),
) -> None:
    """Everything recorded about one version: where it came from and how it was checked."""
    from modelship.lineage import version_records

    records = {r.version: r for r in version_records(repo / name)}
    if not records:
        err.print(f"[red]no versions under {repo / name}[/red]")
        raise typer.Exit(1)
    chosen = version if version is not None else max(records)
    record = records.get(chosen)
    if record is None:
        err.print(f"[red]{name} has no version {chosen}; it has {sorted(records)}[/red]")
        raise typer.Exit(1)
    manifest = record.manifest
    table = Table(title=f"{name} version {chosen} ({record.path})", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    data = {k: v for k, v in manifest.get("data", {}).items() if k != "stats"}
    rows: list[tuple[str, Any]] = [
        ("created_at", manifest.get("created_at")),
        ("framework", manifest.get("framework")),
        ("artifacts", manifest.get("artifacts")),
        ("metrics", _scalar_metrics(manifest.get("metrics", {}))),
        ("parameters", manifest.get("parameters")),
        ("data", data),
        ("code_version", manifest.get("code_version")),
        ("framework_versions", manifest.get("framework_versions")),
        ("labels", ", ".join(record.labels) or "-"),
        ("checked at save", _checks(manifest.get("verification"))),
        ("validation", record.validation_summary()),
    ]
    for key, value in rows:
        if isinstance(value, dict):
            value = "\n".join(f"{k}: {v}" for k, v in value.items()) or "-"
        table.add_row(key, str(value) if value not in (None, "") else "-")
    out.print(table)
    if record.validation is not None:
        from modelship.validation.report import Report

        report = Report.read(record.path)
        if report is not None:
            out.print(report.table())
