"""The GPU images' Dockerfiles, as the engine's own parser reads them, and the GPU reservations
of the Compose file and the Swarm stack, as docker-compose reads them. Building the images
downloads gigabytes: `make gpu-images` does it, not the tests."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from tests.deploy.conftest import ROOT, docker

GPU_DOCKERFILES = ["serving-gpu", "training-gpu"]
UNKNOWN_STAGE = "no-such-stage-syntax-check"


@pytest.mark.docker
@pytest.mark.parametrize("image", GPU_DOCKERFILES)
def test_the_engine_parses_each_gpu_dockerfile(engine: None, image: str) -> None:
    # Asking for a stage that does not exist makes BuildKit parse the whole file and stop before
    # running anything: a syntax error says "dockerfile parse error", a good file this.
    done = docker(
        "build", "-f", f"deploy/{image}.Dockerfile", "--target", UNKNOWN_STAGE, str(ROOT),
        check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert f"target stage {UNKNOWN_STAGE} could not be found" in output, output


@pytest.mark.docker
def test_the_check_catches_a_broken_dockerfile(engine: None) -> None:
    broken = ROOT / "build" / "broken.Dockerfile"
    broken.parent.mkdir(exist_ok=True)
    broken.write_text("FROM modelship/base:bookworm\nRUNN echo\n")
    try:
        done = docker("build", "-f", str(broken), "--target", UNKNOWN_STAGE, str(ROOT), check=False)
    finally:
        broken.unlink()
    assert "dockerfile parse error line 2: unknown instruction: RUNN" in done.stdout + done.stderr


@pytest.mark.parametrize("image", GPU_DOCKERFILES)
def test_gpu_images_build_on_the_debian_base_from_pypi_wheels(image: str) -> None:
    text = (ROOT / "deploy" / f"{image}.Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=modelship/base:bookworm$", text, re.M)
    assert "nvidia/cuda" not in text  # no CUDA base image from a registry
    wheels = "onnxruntime-gpu[cuda,cudnn]" if image == "serving-gpu" else 'torch==${TORCH_VERSION}"'
    assert wheels in text


def _compose_config(*files: str, profile: str | None = None) -> dict[str, object]:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed")
    args = ["docker-compose", *(a for f in files for a in ("-f", str(ROOT / "deploy" / f)))]
    if profile:
        args += ["--profile", profile]
    done = subprocess.run([*args, "config"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    config: dict[str, object] = yaml.safe_load(done.stdout)
    return config


def test_compose_reserves_every_gpu_for_the_gpu_profile() -> None:
    services = _compose_config("compose.yaml", profile="gpu")["services"]
    assert isinstance(services, dict)
    for name in ("serving-gpu", "trainer-gpu"):
        devices = services[name]["deploy"]["resources"]["reservations"]["devices"]
        assert devices == [{"driver": "nvidia", "count": "all", "capabilities": ["gpu"]}]
        # Only `--profile gpu` (or `run`) starts them: a plain `up` needs no GPU.
        assert services[name]["profiles"] == ["gpu"]
    assert "--device=cuda" in services["serving-gpu"]["command"]


def test_the_swarm_override_reserves_one_gpu_per_serving_replica() -> None:
    services = _compose_config("stack.yaml", "stack-gpu.yaml")["services"]
    assert isinstance(services, dict)
    serving = services["serving"]
    reserved = serving["deploy"]["resources"]["reservations"]["generic_resources"]
    assert reserved == [{"discrete_resource_spec": {"kind": "NVIDIA-GPU", "value": 1}}]
    assert serving["image"] == "modelship/serving-gpu:latest"
    assert serving["healthcheck"]["test"][-1] == "modelship.healthcheck"  # kept from stack.yaml
