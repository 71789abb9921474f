"""``containerize`` refuses, before building anything, versions its image could not serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship.containerize import DockerUnavailable, containerize
from modelship.errors import FailedPrecondition
from tests.fixtures.toy_models import two_in_two_out, write_version

# A client whose engine never answers: whatever reaches it ends in DockerUnavailable.
NO_DOCKER = "/bin/false"


@pytest.mark.parametrize(
    ("artifact", "framework"), [("model.pt2", "torch"), ("saved_model.pb", "tensorflow")]
)
def test_a_version_without_model_onnx_is_refused_with_the_reason(
    tmp_path: Path, artifact: str, framework: str
) -> None:
    write_version(tmp_path / "m", 1, two_in_two_out())
    (tmp_path / "m" / "2").mkdir()
    (tmp_path / "m" / "2" / artifact).write_bytes(b"")
    with pytest.raises(FailedPrecondition) as refused:
        containerize("m", tmp_path / "m", docker=NO_DOCKER)
    assert not isinstance(refused.value, DockerUnavailable)  # refused before any docker call
    message = refused.value.message
    assert f"version 2 holds only a {framework} artifact and no model.onnx" in message
    assert "version 1" not in message
    assert "--serving-image" in message


def test_onnx_versions_or_an_image_of_ones_own_go_on_to_the_build(tmp_path: Path) -> None:
    write_version(tmp_path / "m", 1, two_in_two_out())
    with pytest.raises(DockerUnavailable):
        containerize("m", tmp_path / "m", docker=NO_DOCKER)
    (tmp_path / "m" / "2").mkdir()
    (tmp_path / "m" / "2" / "model.pt2").write_bytes(b"")
    with pytest.raises(DockerUnavailable):
        containerize("m", tmp_path / "m", serving_image="me/serving-torch:1", docker=NO_DOCKER)
