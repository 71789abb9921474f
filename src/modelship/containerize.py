"""Bake a model's versions into a serving image, by driving the Docker CLI.

The image is the serving image plus ``/models/<name>/<version>/`` and ``ENV MODEL_NAME=<name>``,
as a TensorFlow Serving user writes it by hand (``FROM tensorflow/serving``, ``COPY``, ``ENV``).
When the serving image is not on the engine yet, it is built first from
``deploy/serving.Dockerfile`` of the source tree, with pip reaching packages through a CA bundle
(a BuildKit secret, never stored in a layer) or a wheelhouse (offline).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelship.errors import FailedPrecondition, InvalidInput
from modelship.repository import list_versions
from modelship.serving_image import SERVING_IMAGES, ImageChoice, choose_image_runtime

__all__ = [
    "DEFAULT_SERVING_IMAGE",
    "BuiltImage",
    "DockerUnavailable",
    "containerize",
    "find_docker",
    "image_exists",
    "source_tree",
]

DEFAULT_SERVING_IMAGE = SERVING_IMAGES["onnx"]
# Docker's rules for a repository path component, kept simple: what a model name may be too.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$", re.IGNORECASE)
_BUILD_TIMEOUT = 3600.0


class DockerUnavailable(FailedPrecondition):
    """No Docker client, or no engine answering it."""


@dataclass(frozen=True)
class BuiltImage:
    """An image built by :func:`containerize`."""

    tag: str
    model_name: str
    versions: tuple[int, ...]
    size_bytes: int
    serving_image: str
    runtime: ImageChoice | None  # None: an image of one's own, taken as it is


def find_docker() -> str:
    """The Docker client to drive.

    Debian's ``/usr/bin/docker`` comes first: it builds with BuildKit (secrets, cache mounts)
    even where a newer client earlier on ``PATH`` lacks the buildx plugin. ``$DOCKER`` overrides.

    Raises:
        DockerUnavailable: no client is installed.
    """
    candidates = [os.environ.get("DOCKER", ""), "/usr/bin/docker", shutil.which("docker") or ""]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise DockerUnavailable(
        "no Docker client found: install Docker (Debian: apt-get install docker.io) "
        "or set DOCKER to the client's path"
    )


def _docker(docker: str, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    return subprocess.run(
        [docker, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def _require_engine(docker: str) -> None:
    try:
        answer = _docker(docker, "version", "--format", "{{.Server.Version}}", timeout=20)
    except subprocess.TimeoutExpired:
        raise DockerUnavailable("the Docker engine did not answer within 20 s") from None
    if answer.returncode != 0 or not answer.stdout.strip():
        detail = answer.stderr.strip().splitlines()[-1:] or ["no answer"]
        raise DockerUnavailable(
            f"no Docker engine reachable ({detail[0]}): start dockerd, "
            "or point DOCKER_HOST at a running engine"
        )


def image_exists(docker: str, image: str) -> bool:
    """Whether the engine has ``image`` locally."""
    return _docker(docker, "image", "inspect", image).returncode == 0


def source_tree() -> Path | None:
    """The modelship checkout this package runs from, if any (it holds the Dockerfiles)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "deploy" / "serving.Dockerfile").is_file() else None


def _build(docker: str, args: list[str], what: str) -> None:
    try:
        done = _docker(docker, "build", *args, timeout=_BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise FailedPrecondition(f"building {what} took more than {_BUILD_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise FailedPrecondition(f"building {what} failed:\n{tail}")


def _build_serving_image(
    docker: str,
    image: str,
    runtime: str,
    base_image: str | None,
    ca_bundle: Path | None,
    wheelhouse: Path | None,
) -> None:
    root = source_tree()
    if root is None:
        raise FailedPrecondition(
            f"the serving image {image} is not on this Docker engine and no modelship source "
            "tree is at hand to build it: build it with scripts/build-images.sh in a checkout, "
            "or pass --serving-image"
        )
    args = ["-f", str(root / "deploy" / "serving.Dockerfile"), "-t", image]
    args += ["--build-arg", f"RUNTIME={runtime}"]
    if base_image:
        args += ["--build-arg", f"BASE_IMAGE={base_image}"]
    if wheelhouse is not None:
        # The Dockerfile mounts deploy/wheelhouse from the context: put the wheels there.
        target = root / "deploy" / "wheelhouse"
        if wheelhouse.resolve() != target.resolve():
            for old in target.glob("*.whl"):
                old.unlink()
            for wheel in wheelhouse.glob("*.whl"):
                shutil.copy2(wheel, target / wheel.name)
        args += ["--build-arg", "PIP_OFFLINE=1"]
    elif ca_bundle is not None:
        args += ["--secret", f"id=ca,src={ca_bundle}"]
    _build(docker, [*args, str(root)], f"the serving image {image}")


def _copy_versions(base_path: Path, versions: list[int], target: Path) -> None:
    """Copy the versions, world-readable: the image's server runs as a non-root user."""
    for version in versions:
        shutil.copytree(base_path / str(version), target / str(version), symlinks=False)
    for path in [target, *target.rglob("*")]:
        mode = path.stat().st_mode
        extra = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        if path.is_dir():
            extra |= stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
        path.chmod(mode | extra)


def containerize(
    model_name: str,
    model_base_path: Path,
    tag: str | None = None,
    serving_image: str | None = None,
    runtime: str | None = None,
    base_image: str | None = None,
    ca_bundle: Path | None = None,
    wheelhouse: Path | None = None,
    docker: str | None = None,
    on_choice: Callable[[ImageChoice], None] | None = None,
) -> BuiltImage:
    """Build an image that serves ``model_name``'s versions found under ``model_base_path``.

    Args:
        model_name: the name clients use (``/v1/models/<name>``).
        model_base_path: directory holding the integer version directories.
        tag: the image's name; default ``modelship/<name>:<latest version>``.
        serving_image: the image to add the model to; default the one the versions need
            (:func:`~modelship.serving_image.choose_image_runtime`); built first when missing.
        runtime: force the serving image's runtime (onnx, torch, tensorflow), still checked
            against the versions; with ``serving_image``, the runtime to build it with.
        base_image: base of the serving image when it has to be built.
        ca_bundle: CA bundle pip needs to reach the index while building the serving image.
        wheelhouse: wheels to build the serving image from, offline.
        docker: the Docker client; default :func:`find_docker`.
        on_choice: told the runtime chosen and why, before anything is built.

    Returns:
        The image built.

    Raises:
        InvalidInput: bad name, no versions, or both ``ca_bundle`` and ``wheelhouse``.
        DockerUnavailable: no client or no engine.
        FailedPrecondition: a build failed, or no serving image fits the versions (refused,
            with the reason, before anything is built).
    """
    if not _NAME.match(model_name):
        raise InvalidInput(
            f"model name {model_name!r} is not usable in an image: use letters, digits, '.', "
            "'_' and '-', starting with a letter or digit"
        )
    if ca_bundle is not None and wheelhouse is not None:
        raise InvalidInput("give either a CA bundle or a wheelhouse, not both")
    if ca_bundle is not None and not ca_bundle.is_file():
        raise InvalidInput(f"CA bundle {ca_bundle} is not a file")
    if wheelhouse is not None and not any(wheelhouse.glob("*.whl")):
        raise InvalidInput(f"wheelhouse {wheelhouse} holds no wheels (*.whl)")
    versions = list_versions(model_base_path)
    if not versions:
        raise InvalidInput(
            f"no version directories (1/, 2/, ...) under {model_base_path}: export a model "
            "there first, e.g. with `modelship train`"
        )
    # An image of one's own is taken as it is, unless a runtime is named to build it with.
    choice = None
    if serving_image is None or runtime is not None:
        choice = choose_image_runtime(model_base_path, versions, runtime)
        if on_choice is not None:
            on_choice(choice)
    serving_image = serving_image or SERVING_IMAGES[choice.runtime if choice else "onnx"]
    tag = tag or f"modelship/{model_name.lower()}:{versions[-1]}"
    docker = docker or find_docker()
    _require_engine(docker)
    if not image_exists(docker, serving_image):
        build_with = choice or choose_image_runtime(model_base_path, versions)
        _build_serving_image(
            docker, serving_image, build_with.runtime, base_image, ca_bundle, wheelhouse
        )

    with tempfile.TemporaryDirectory(prefix="modelship-containerize-") as tmp:
        context = Path(tmp)
        _copy_versions(model_base_path, versions, context / "model")
        (context / "Dockerfile").write_text(
            "ARG SERVING_IMAGE\n"
            "FROM ${SERVING_IMAGE}\n"
            f"COPY model/ /models/{model_name}/\n"
            f"ENV MODEL_NAME={model_name}\n"
            f'LABEL io.modelship.model.name="{model_name}" '
            f'io.modelship.model.versions="{",".join(map(str, versions))}"\n'
        )
        _build(
            docker,
            ["-t", tag, "--build-arg", f"SERVING_IMAGE={serving_image}", str(context)],
            f"the image {tag}",
        )
    size = _docker(docker, "image", "inspect", "-f", "{{.Size}}", tag).stdout.strip()
    return BuiltImage(tag, model_name, tuple(versions), int(size or 0), serving_image, choice)
