"""``model_platform: "tensorflow"`` serves a version with TensorFlow, beside a model.onnx too."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest

pytest.importorskip("tensorflow")

from tests.conftest import ToyModel, start_server, stop_server
from tests.fixtures.tf_models import write_pair_savedmodel

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, toy_model: ToyModel) -> Path:
    """``pair/1``: a SavedModel with three signatures, and an unrelated ``model.onnx``."""
    version = write_pair_savedmodel(tmp_path_factory.mktemp("repo") / "pair" / "1")
    shutil.copy(toy_model.base_path / "1" / "model.onnx", version)
    return version.parent


@pytest.mark.parametrize(
    ("platform", "signatures"),
    [
        # Only TensorFlow knows the SavedModel's other signatures; ONNX has serving_default.
        ("model_platform: 'tensorflow'", ["greet", "norm", "serving_default"]),
        ("", ["serving_default"]),
    ],
)
def test_model_platform_picks_the_runtime_end_to_end(
    both: Path, tmp_path: Path, platform: str, signatures: list[str]
) -> None:
    config = tmp_path / "models.config"
    config.write_text(
        f"model_config_list {{ config {{ name: 'pair' base_path: '{both}' {platform} }} }}\n"
    )
    server = start_server(["--model_config_file", str(config)], "pair", tmp_path, timeout=120)
    try:
        answer = httpx.get(f"{server.url}/v1/models/pair/metadata", timeout=30)
        assert answer.status_code == 200, answer.text
        found = answer.json()["metadata"]["signature_def"]["signature_def"]
        assert sorted(found) == signatures
    finally:
        stop_server(server)
