"""The ``modelship`` command line: wiring only; each command group lives in its own module."""

from __future__ import annotations

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="modelship",
    help="Train, version and serve TensorFlow and PyTorch models behind TF Serving's API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Each module adds its commands to ``app``; imports stay light (frameworks load lazily).
    from modelship.cli import commands  # noqa: F401


def main() -> None:
    _register()
    app()
