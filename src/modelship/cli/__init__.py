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


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def tf_serving_booleans(argv: list[str]) -> list[str]:
    """Accept TF Serving's ``--flag=true|false`` spelling for boolean flags.

    TF Serving's scripts write ``--enable_batching=true``; our flags take no value, so
    ``=true`` becomes the bare flag and ``=false`` drops it (every boolean defaults to off).
    """
    from modelship.cli.serve_cmd import BOOLEAN_FLAGS

    out = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name in BOOLEAN_FLAGS and value.lower() in _TRUE | _FALSE:
            if value.lower() in _TRUE:
                out.append(name)
            continue
        out.append(arg)
    return out


def main() -> None:
    import sys

    _register()
    app(args=tf_serving_booleans(sys.argv[1:]))
