"""The serving Dockerfile's RUNTIME argument, read without building: each runtime containerize
can choose maps to a pip requirement whose extra installs that framework, at the pinned version."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from modelship.serving_image import IMAGE_RUNTIMES

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "serving.Dockerfile"
SCRIPT = ROOT / "deploy" / "runtime-requirement.sh"


def requirement(runtime: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(SCRIPT), runtime], capture_output=True, text=True, check=False, timeout=10
    )


def extras() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(project["optional-dependencies"])


def pinned(package: str) -> str:
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        if name.strip().lower().replace("_", "-") == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in constraints.txt")


@pytest.mark.parametrize(
    ("runtime", "package"),
    [("onnx", None), ("torch", "torch"), ("tensorflow", "tensorflow-cpu")],
)
def test_each_runtime_installs_its_framework_only(runtime: str, package: str | None) -> None:
    assert runtime in IMAGE_RUNTIMES
    done = requirement(runtime)
    assert done.returncode == 0, done.stderr
    spec = done.stdout.strip()
    if package is None:
        assert spec == "."  # onnxruntime is a core dependency: nothing more
        return
    extra = re.fullmatch(r"\.\[(.+)\]", spec)
    assert extra is not None, spec
    assert extras()[extra.group(1)] == [f"{package}=={pinned(package)}"]


def test_torch_is_the_pinned_cpu_build() -> None:
    assert pinned("torch") == "2.13.0"
    text = DOCKERFILE.read_text()
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    assert 'if [ "$RUNTIME" = torch ]; then export PIP_EXTRA_INDEX_URL="$TORCH_INDEX_URL"' in text
    # torch ships test helpers in Python 3.12 syntax: compiling them would fail the 3.11 build.
    assert "compileall -q -x 'torch/testing/_internal/'" in text


def test_an_unknown_runtime_fails_the_build() -> None:
    done = requirement("jax")
    assert done.returncode == 2
    assert "RUNTIME must be onnx, torch or tensorflow" in done.stderr


def test_the_dockerfile_takes_the_argument_in_both_stages() -> None:
    stages = re.split(r"^FROM ", DOCKERFILE.read_text(), flags=re.MULTILINE)[1:]
    build, final = stages[0], stages[-1]
    assert build.startswith("${BASE_IMAGE} AS build")
    for stage in (build, final):
        assert re.search(r"^ARG RUNTIME=onnx$", stage, flags=re.MULTILINE)
    assert 'pip-install "$requirement"' in build
    assert 'requirement="$(runtime-requirement "$RUNTIME")"' in build
    assert 'LABEL io.modelship.runtime="${RUNTIME}"' in final
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "!deploy/runtime-requirement.sh" in ignored  # the build context carries the script
