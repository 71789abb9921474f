"""Boolean flags on the command line: every spelling, and a given flag beats the environment."""

from __future__ import annotations

import subprocess
from importlib.metadata import version
from typing import Any

import pytest
import typer
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

import modelship
from modelship.cli import _register, app, tf_serving_booleans
from modelship.cli.serve_cmd import settings_from_flags
from modelship.settings import ServeSettings
from tests.conftest import BIN

_register()
COMMAND = typer.main.get_command(app)
assert isinstance(COMMAND, TyperGroup)
SERVE = COMMAND.commands["serve"]
# (on name, field of ServeSettings) for every on/off flag of serve, found the way main() finds them
SERVE_BOOLEANS = [
    (p.opts[0], p.name)
    for p in SERVE.params
    if isinstance(p, TyperOption) and p.is_flag and p.secondary_opts
]
OFF = ["{flag}=false", "{flag}=0", "{flag}=False", "{flag} false", "{off}", "{off}=true"]
ON = ["{flag}", "{flag}=true", "{flag}=1", "{flag} yes", "{off}=false"]


def _parse(argv: list[str]) -> ServeSettings:
    """What ``modelship serve ARGV`` would be configured with: main()'s rewrite, click's parser."""
    args = tf_serving_booleans(COMMAND, ["serve", *argv])
    assert args[0] == "serve"
    context = SERVE.make_context("serve", args[1:])
    return settings_from_flags(context.params)


def _spell(template: str, flag: str) -> list[str]:
    off = next(p.secondary_opts[0] for p in SERVE.params if flag in getattr(p, "opts", ()))
    return template.format(flag=flag, off=off).split()


def test_serve_has_both_boolean_flags() -> None:
    names = {flag for flag, _ in SERVE_BOOLEANS}
    assert {"--enable_batching", "--allow_version_labels_for_unavailable_models"} <= names


@pytest.mark.parametrize(("flag", "field"), SERVE_BOOLEANS)
@pytest.mark.parametrize("spelling", OFF)
def test_off_on_the_command_line_beats_on_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, flag: str, field: str, spelling: str
) -> None:
    monkeypatch.setenv(f"MODELSHIP_{field.upper()}", "1")
    assert getattr(_parse([]), field) is True  # the environment alone turns it on
    assert getattr(_parse(_spell(spelling, flag)), field) is False


@pytest.mark.parametrize(("flag", "field"), SERVE_BOOLEANS)
@pytest.mark.parametrize("spelling", ON)
def test_on_on_the_command_line_beats_off_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, flag: str, field: str, spelling: str
) -> None:
    monkeypatch.setenv(f"MODELSHIP_{field.upper()}", "false")
    assert getattr(_parse([]), field) is False
    assert getattr(_parse(_spell(spelling, flag)), field) is True


def test_the_hyphenated_spelling_works_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSHIP_ENABLE_BATCHING", "1")
    assert _parse(["--enable-batching=false"]).enable_batching is False
    assert _parse(["--no-enable-batching"]).enable_batching is False


def test_tf_servings_thread_flag_sets_the_runtime_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELSHIP_INTRA_OP_THREADS", "4")
    assert _parse([]).intra_op_threads == 4
    assert _parse(["--tensorflow_intra_op_parallelism=2"]).intra_op_threads == 2
    assert _parse(["--intra_op_threads", "1"]).intra_op_threads == 1


def test_other_arguments_are_left_alone() -> None:
    argv = ["serve", "--model_name=true", "--enable_batching", "--model_base_path", "false"]
    assert tf_serving_booleans(COMMAND, argv) == argv
    # A value that is not a boolean is left for click to refuse.
    assert tf_serving_booleans(COMMAND, ["serve", "--enable_batching=maybe"]) == [
        "serve",
        "--enable_batching=maybe",
    ]


def test_a_word_after_a_flag_stays_an_argument_where_the_command_takes_arguments() -> None:
    # ``promote NAME VERSION [--force]``: "1" after --force is the version, not the flag's value.
    argv = ["promote", "--force", "mnist", "1"]
    assert tf_serving_booleans(COMMAND, argv) == argv
    assert tf_serving_booleans(COMMAND, ["promote", "mnist", "1", "--force=false"]) == [
        "promote",
        "mnist",
        "1",
        "--no-force",
    ]


def _boolean_options(command: Any) -> list[Any]:
    found = [p for p in command.params if isinstance(p, TyperOption) and p.is_flag]
    for sub in getattr(command, "commands", {}).values():
        found += _boolean_options(sub)
    return found


def test_every_boolean_flag_can_be_turned_off_by_name() -> None:
    # Without an "off" name, ``--flag=false`` could not reach the command, and the
    # environment would decide.
    missing = [p.opts for p in _boolean_options(COMMAND) if not p.is_eager and not p.secondary_opts]
    assert not missing


def test_version() -> None:
    expected = version("modelship")
    assert modelship.__version__ == expected
    result = subprocess.run(
        [str(BIN / "modelship"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"modelship {expected}"


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("serve", ["[env MODEL_NAME]", "[env MODELSHIP_ENABLE_BATCHING]"]),
        ("train", ["[mnist: 5, images: 8]", "[mnist: 64, images: 16]"]),
    ],
)
def test_help_keeps_bracketed_text(command: str, shown: list[str]) -> None:
    # Bracketed text in help must reach the reader, not be taken for markup.
    result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for words in shown:
        assert words in text
