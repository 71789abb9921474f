"""The ``modelship`` command line: wiring only; each command group lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperArgument, TyperGroup, TyperOption

__all__ = ["app", "main", "tf_serving_booleans"]

app = typer.Typer(
    name="modelship",
    help="Train, version and serve TensorFlow and PyTorch models behind TF Serving's API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts are plain: "[mnist: 5, images: 8]" or "[env MODEL_NAME]" must not be markup.
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        from modelship import __version__

        typer.echo(f"modelship {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Train, version and serve TensorFlow and PyTorch models behind TF Serving's API."""


def _register() -> None:
    # Each module adds its commands to ``app``; imports stay light (frameworks load lazily).
    from modelship.cli import commands  # noqa: F401


_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _boolean_spellings(command: object) -> dict[str, tuple[str, str]]:
    """Each name of each on/off flag of ``command`` -> (its "on" name, its "off" name)."""
    names: dict[str, tuple[str, str]] = {}
    for param in getattr(command, "params", ()):
        if isinstance(param, TyperOption) and param.is_flag and param.secondary_opts:
            pair = (param.opts[0], param.secondary_opts[0])
            names.update(dict.fromkeys(param.opts, pair))
            # An "off" name given a value flips it: ``--no-x=false`` means on.
            names.update(dict.fromkeys(param.secondary_opts, pair[::-1]))
    return names


def tf_serving_booleans(command: object, argv: list[str]) -> list[str]:
    """Accept TF Serving's ``--flag=true|false`` spelling for the boolean flags of ``argv``.

    TF Serving's scripts write ``--enable_batching=true``; click's flags take no value, so the
    value picks the flag's "on" or "off" name (``--no_enable_batching``). An explicit "off" must
    reach the command: dropping it would let the environment (``MODELSHIP_ENABLE_BATCHING=1``)
    decide. ``--flag false`` (value as the next argument) is read the same way for commands that
    take no positional arguments, where that word could mean nothing else.

    Args:
        command: the whole command line (``typer.main.get_command(app)``); the subcommand
            is found in ``argv``.
        argv: the arguments after the program name.

    Returns:
        ``argv`` with each boolean ``flag=value`` replaced by the flag's on or off name.
    """
    rest = list(argv)
    out: list[str] = []
    # Walk down the groups to the command that will parse the remaining arguments.
    while isinstance(command, TyperGroup) and rest:
        arg = rest.pop(0)
        out.append(arg)
        if not arg.startswith("-"):
            sub = command.commands.get(arg)
            if sub is None:
                return out + rest  # unknown command: click says so
            command = sub
    spellings = _boolean_spellings(command)
    takes_words = any(isinstance(p, TyperArgument) for p in getattr(command, "params", ()))
    while rest:
        arg = rest.pop(0)
        if arg == "--":  # everything after it is a positional argument
            return [*out, arg, *rest]
        name, sep, value = arg.partition("=")
        next_is_value = bool(rest) and rest[0].lower() in _TRUE | _FALSE
        if not sep and not takes_words and name in spellings and next_is_value:
            sep, value = "=", rest.pop(0)
        if sep and name in spellings and value.lower() in _TRUE | _FALSE:
            on, off = spellings[name]
            out.append(on if value.lower() in _TRUE else off)
            continue
        out.append(arg)
    return out


def main() -> None:
    import sys

    _register()
    command = typer.main.get_command(app)
    command(args=tf_serving_booleans(command, sys.argv[1:]), prog_name="modelship")
