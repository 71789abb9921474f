"""``modelship logs``: request logs (a model config's ``logging_config``) turned into a
version's warm-up file and ``validate --data`` input."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from modelship.cli import app
from modelship.errors import ModelshipError

logs = typer.Typer(
    help="Use request logs: warm-up requests, validation data.", no_args_is_help=True
)
app.add_typer(logs, name="logs")
out = Console()
err = Console(stderr=True)

_LOGS = typer.Argument(help="TFRecord request log files (<filename_prefix>.*.tfrecord)")


@logs.command()
def warmup(
    files: Annotated[list[Path], _LOGS],
    version_dir: Annotated[Path, typer.Option(help="The version directory to warm up")],
    max_records: Annotated[
        int, typer.Option(help="Records to keep (TF Serving: 1000 at most)")
    ] = 100,
) -> None:
    """Write the first logged predicts as the version's assets.extra/tf_serving_warmup_requests."""
    from modelship.request_logs import write_warmup

    try:
        count = write_warmup(files, version_dir, max_records)
    except ModelshipError as exc:
        err.print(f"[red]modelship logs warmup:[/red] {exc.message}")
        raise typer.Exit(2) from None
    out.print(f"{count} warm-up requests written to {version_dir}/assets.extra/")


@logs.command("eval-data")
def eval_data(
    files: Annotated[list[Path], _LOGS],
    output: Annotated[Path, typer.Option(help="The .npz to write (x, y)")],
    input_name: Annotated[str, typer.Option(help="The input to take (default: the only one)")] = "",
) -> None:
    """Write the logged inputs, with the classes the serving version predicted, as validate's
    --data .npz (a candidate is then measured by its agreement with production)."""
    from modelship.request_logs import write_eval_npz

    try:
        count = write_eval_npz(files, output, input_name)
    except ModelshipError as exc:
        err.print(f"[red]modelship logs eval-data:[/red] {exc.message}")
        raise typer.Exit(2) from None
    out.print(f"{count} rows written to {output}")
