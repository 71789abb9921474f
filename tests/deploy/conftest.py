"""Docker fixtures: a real engine, images built once per session under unique names, cleanup.

Without a reachable engine the Docker tests skip, except when ``MODELSHIP_REQUIRE_DOCKER=1``
(set by ``.ci/run``), where they fail. Every object a test creates carries the session's unique
prefix and is removed by name at the end; the debootstrap base image is a cache kept between
runs, like pip's.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.fixtures.toy_models import softmax_linear, write_version

from modelship.containerize import DockerUnavailable, find_docker

ROOT = Path(__file__).resolve().parents[2]
BASE_IMAGE = "modelship/base:bookworm"
REPORT = ROOT / "build" / "docker-images.json"


def docker(
    *args: str, timeout: float = 180, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the Docker CLI (BuildKit on) and return its output; raise with the output on failure."""
    done = subprocess.run(
        [_client(), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "DOCKER_BUILDKIT": "1", **(env or {})},
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def _client() -> str:
    try:
        return find_docker()
    except DockerUnavailable:
        return "docker"


def _engine_problem() -> str | None:
    try:
        done = subprocess.run(
            [find_docker(), "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except DockerUnavailable as exc:
        return exc.message
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 20 s"
    if done.returncode != 0:
        return f"no Docker engine reachable: {done.stderr.strip()}"
    return None


@pytest.fixture(scope="session")
def engine() -> None:
    """Skip (or, in CI, fail) when no Docker engine answers."""
    problem = _engine_problem()
    if problem is None:
        return
    if os.environ.get("MODELSHIP_REQUIRE_DOCKER") == "1":
        pytest.fail(f"MODELSHIP_REQUIRE_DOCKER=1 but {problem}")
    pytest.skip(f"Docker tests need an engine: {problem}")


@pytest.fixture(scope="session")
def prefix() -> str:
    """The unique prefix of every Docker object this session creates."""
    return f"mstest{uuid.uuid4().hex[:8]}"


@dataclass
class Built:
    tag: str
    seconds: float
    size_bytes: int


_BUILT_THIS_SESSION: list[str] = []


def _record(name: str, built: Built) -> None:
    """Keep image sizes and build times where people and CI can read them."""
    _BUILT_THIS_SESSION.append(name)
    REPORT.parent.mkdir(exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[name] = {"seconds": round(built.seconds, 1), "megabytes": round(built.size_bytes / 1e6)}
    REPORT.write_text(json.dumps(report, indent=2) + "\n")


@pytest.fixture(scope="session")
def base_image(engine: None) -> str:
    """The debootstrap base image (built by scripts/build-base-image.sh unless present)."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "build-base-image.sh")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return BASE_IMAGE


class ImageBuilder:
    """Builds the project's images once per session with scripts/build-images.sh."""

    def __init__(self, prefix: str, base: str) -> None:
        self.prefix = prefix
        self.base = base
        self.built: dict[str, Built] = {}

    def get(self, name: str, *options: str) -> Built:
        if name not in self.built:
            start = time.monotonic()
            done = subprocess.run(
                [
                    str(ROOT / "scripts" / "build-images.sh"),
                    "--prefix",
                    self.prefix,
                    "--tag",
                    "test",
                    "--base-image",
                    self.base,
                    *options,
                    name,
                ],
                capture_output=True,
                text=True,
                timeout=1800,
                check=False,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            tag = f"{self.prefix}/{name}:test"
            size = int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout)
            self.built[name] = Built(tag, time.monotonic() - start, size)
            _record(name, self.built[name])
        return self.built[name]

    def remove(self) -> None:
        for built in self.built.values():
            docker("rmi", "-f", built.tag, check=False)


@pytest.fixture(scope="session")
def images(base_image: str, prefix: str) -> Iterator[ImageBuilder]:
    REPORT.unlink(missing_ok=True)
    builder = ImageBuilder(prefix, base_image)
    yield builder
    builder.remove()


@pytest.fixture(scope="session")
def wheelhouse(engine: None) -> Path:
    """deploy/wheelhouse with the training and JupyterLab dependencies (torch from local disk)."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "build-wheelhouse.sh"), "--extras", "torch,tensorflow,jupyter"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return ROOT / "deploy" / "wheelhouse"


def readable(path: Path) -> Path:
    """Make a tree readable by the images' non-root user (pytest's temp dirs are 0700)."""
    for item in [path, *path.rglob("*")]:
        item.chmod(item.stat().st_mode | (0o755 if item.is_dir() else 0o644))
    return path


@dataclass
class ModelDir:
    base_path: Path
    name: str


@pytest.fixture(scope="session")
def toy_versions(tmp_path_factory: pytest.TempPathFactory) -> dict[int, ModelDir]:
    """Two repositories of the toy model: version 1, and version 2 with other weights."""
    out = {}
    for version, seed in ((1, 0), (2, 1)):
        base = tmp_path_factory.mktemp(f"toy-v{version}") / "toy"
        model, _, _ = softmax_linear(784, 10, seed=seed)
        write_version(base, version, model, labels=[f"class{i}" for i in range(10)])
        out[version] = ModelDir(readable(base.parent) / "toy", "toy")
    return out


def wait_until(predicate: object, timeout: float, what: str, interval: float = 0.5) -> None:
    """Poll ``predicate()`` until it is true; fail saying ``what`` did not happen."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"{what} within {timeout:.0f} s")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _BUILT_THIS_SESSION and REPORT.exists():
        terminalreporter.write_sep("-", f"Docker images built ({REPORT.relative_to(ROOT)})")
        for name, figures in json.loads(REPORT.read_text()).items():
            terminalreporter.write_line(
                f"{name}: {figures['megabytes']} MB, built in {figures['seconds']} s"
            )
