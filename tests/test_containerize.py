"""``containerize`` picks the serving image the versions need, or refuses before building."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelship.cli import _register, app
from modelship.containerize import DockerUnavailable, containerize
from modelship.errors import FailedPrecondition, InvalidInput
from modelship.serving_image import ImageChoice
from tests.fixtures.toy_models import two_in_two_out, write_version

# A client whose engine never answers: whatever reaches it ends in DockerUnavailable.
NO_DOCKER = "/bin/false"


def model_with(tmp_path: Path, *artifacts: str) -> Path:
    """Version 1 with model.onnx, then one version per artifact (an empty file of that name)."""
    base = tmp_path / "m"
    write_version(base, 1, two_in_two_out())
    for version, artifact in enumerate(artifacts, start=2):
        (base / str(version)).mkdir()
        (base / str(version) / artifact).write_bytes(b"")
    return base


def chosen(base: Path, runtime: str | None = None, image: str | None = None) -> ImageChoice:
    """What containerize chose, proven to be decided before any Docker call."""
    choices: list[ImageChoice] = []
    with pytest.raises(DockerUnavailable):
        containerize(
            "m", base, runtime=runtime, serving_image=image, docker=NO_DOCKER,
            on_choice=choices.append,
        )  # fmt: skip
    assert len(choices) == 1
    return choices[0]


@pytest.mark.parametrize(
    ("artifact", "runtime", "held"),
    [
        ("model.pt2", "torch", "a PyTorch artifact"),
        ("model.ts", "torch", "a PyTorch artifact"),
        ("process.py", "torch", "only process.py"),
        ("saved_model.pb", "tensorflow", "only a SavedModel"),
    ],
)
def test_the_framework_a_version_needs_picks_the_image(
    tmp_path: Path, artifact: str, runtime: str, held: str
) -> None:
    choice = chosen(model_with(tmp_path, artifact), None)
    assert choice.runtime == runtime
    assert choice.image == f"modelship/serving:{runtime}"
    assert choice.reason.startswith(f"version(s) 2 hold {held}")
    assert not choice.forced


def test_onnx_versions_take_the_onnxruntime_image(tmp_path: Path) -> None:
    base = model_with(tmp_path)
    (base / "1" / "model.pt2").write_bytes(b"")  # beside model.onnx: onnxruntime serves it
    choice = chosen(base)
    assert (choice.runtime, choice.image) == ("onnx", "modelship/serving:latest")
    assert "every version has a model.onnx" in choice.reason


def test_a_runtime_can_be_forced_if_it_fits(tmp_path: Path) -> None:
    choice = chosen(model_with(tmp_path, "model.pt2"), "torch")
    assert (choice.runtime, choice.forced) == ("torch", True)
    assert chosen(model_with(tmp_path / "onnx"), "tensorflow").image == (
        "modelship/serving:tensorflow"
    )


@pytest.mark.parametrize(
    ("artifacts", "force", "expected"),
    [
        (("model.pt2",), "onnx", "the onnx image cannot serve version(s) 2"),
        (("saved_model.pb",), "torch", "which needs the tensorflow image"),
        (("model.pt2", "saved_model.pb"), None, "tensorflow for version(s) 3; torch for"),
        (("notes.txt",), None, "version 2: "),
    ],
)
def test_nothing_fits_is_refused_with_the_reason_before_docker(
    tmp_path: Path, artifacts: tuple[str, ...], force: str | None, expected: str
) -> None:
    with pytest.raises(FailedPrecondition) as refused:
        containerize("m", model_with(tmp_path, *artifacts), runtime=force, docker=NO_DOCKER)
    assert not isinstance(refused.value, DockerUnavailable)
    assert expected in refused.value.message


def test_an_unknown_runtime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="use one of onnx, torch, tensorflow"):
        containerize("m", model_with(tmp_path), runtime="jax", docker=NO_DOCKER)


def test_an_image_of_ones_own_is_taken_as_it_is(tmp_path: Path) -> None:
    base = model_with(tmp_path, "model.pt2", "saved_model.pb")  # no modelship image fits both
    choices: list[ImageChoice] = []
    with pytest.raises(DockerUnavailable):
        containerize(
            "m", base, serving_image="me/serving-all:1", docker=NO_DOCKER,
            on_choice=choices.append,
        )  # fmt: skip
    assert choices == []


def test_the_command_prints_the_choice_and_why(tmp_path: Path) -> None:
    _register()
    base = model_with(tmp_path, "saved_model.pb")
    done = CliRunner().invoke(
        app,
        ["containerize", "--model_name", "m", "--model_base_path", str(base)],
        env={"COLUMNS": "400", "DOCKER": NO_DOCKER},
    )
    assert "serving image modelship/serving:tensorflow (tensorflow runtime)" in done.output
    assert "version(s) 2 hold only a SavedModel and no model.onnx" in done.output
    refused = CliRunner().invoke(
        app,
        ["containerize", "--model_name", "m", "--model_base_path", str(base), "--runtime", "onnx"],
        env={"COLUMNS": "400", "DOCKER": NO_DOCKER},
    )
    assert refused.exit_code == 1
    assert "the onnx image cannot serve version(s) 2" in refused.output
    assert "--runtime tensorflow" in refused.output
