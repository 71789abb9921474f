"""Which serving image a model's versions need: onnxruntime only, or with PyTorch or TensorFlow.

Every serving image has onnxruntime, so a version with ``model.onnx`` runs in any of them; a
version without one needs the framework of its artifact. ``deploy/serving.Dockerfile`` builds
each image from its ``RUNTIME`` build argument (``deploy/runtime-requirement.sh`` maps it to
pip's requirement).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from modelship.errors import BadConfig, FailedPrecondition, InvalidInput

__all__ = ["IMAGE_RUNTIMES", "SERVING_IMAGES", "ImageChoice", "choose_image_runtime"]

# Each image runtime and the image ``containerize`` uses (and builds when missing) for it.
SERVING_IMAGES = {
    "onnx": "modelship/serving:latest",
    "torch": "modelship/serving:torch",
    "tensorflow": "modelship/serving:tensorflow",
}
IMAGE_RUNTIMES = tuple(SERVING_IMAGES)

# The serving runtime a version is detected with -> the image runtime that has its framework.
# A process.py-only version (the python runtime) runs the user's own code: most often eager
# PyTorch, so it gets the torch image.
_NEEDS = {"onnx": "onnx", "torch": "torch", "python": "torch", "tensorflow": "tensorflow"}
_WHAT = {
    "torch": "a PyTorch artifact (model.pt2 or model.ts)",
    "python": "only process.py (its own Python code, run with the torch image's packages)",
    "tensorflow": "only a SavedModel",
}


@dataclass(frozen=True)
class ImageChoice:
    """The image runtime chosen for a model's versions, and why."""

    runtime: str  # one of IMAGE_RUNTIMES
    reason: str
    forced: bool = False

    @property
    def image(self) -> str:
        return SERVING_IMAGES[self.runtime]


def _needs(base_path: Path, versions: list[int]) -> tuple[dict[int, str], dict[int, str]]:
    """Each version's image runtime, and what it holds (for the reason)."""
    from modelship.runtimes import detect_runtime

    needs: dict[int, str] = {}
    held: dict[int, str] = {}
    problems = []
    for version in versions:
        try:
            runtime = detect_runtime(base_path / str(version))
        except BadConfig as exc:
            problems.append(f"version {version}: {exc.message}")
            continue
        if runtime not in _NEEDS:
            problems.append(
                f"version {version} is served by the plugin runtime {runtime!r}, which no "
                "modelship image has: pass --serving-image an image with it installed"
            )
            continue
        needs[version] = _NEEDS[runtime]
        held[version] = "model.onnx" if runtime == "onnx" else _WHAT[runtime]
    if problems:
        raise FailedPrecondition(f"no serving image fits: {'; '.join(problems)}")
    return needs, held


def _listed(versions: list[int]) -> str:
    return ", ".join(map(str, versions))


def choose_image_runtime(
    base_path: Path, versions: list[int], force: str | None = None
) -> ImageChoice:
    """The image runtime that serves every version; ``force`` picks one, checked all the same.

    Raises:
        InvalidInput: ``force`` is not an image runtime.
        FailedPrecondition: no one image serves every version (say, one needs PyTorch and
            another TensorFlow, or ``force`` lacks a version's framework); nothing was built.
    """
    if force is not None and force not in SERVING_IMAGES:
        raise InvalidInput(f"unknown runtime {force!r}: use one of {', '.join(IMAGE_RUNTIMES)}")
    needs, held = _needs(base_path, versions)
    by_runtime: dict[str, list[int]] = {}
    for version, runtime in needs.items():
        by_runtime.setdefault(runtime, []).append(version)
    frameworks = sorted(set(by_runtime) - {"onnx"})
    if len(frameworks) > 1:
        detail = "; ".join(f"{r} for version(s) {_listed(by_runtime[r])}" for r in frameworks)
        raise FailedPrecondition(
            f"no one serving image fits these versions: {detail}. Add a model.onnx to the "
            "versions of one framework (modelship convert), or containerize them as two models"
        )
    needed = frameworks[0] if frameworks else "onnx"
    if force is not None and needed not in ("onnx", force):
        versions_needing = by_runtime[needed]
        raise FailedPrecondition(
            f"the {force} image cannot serve version(s) {_listed(versions_needing)}: they hold "
            f"{held[versions_needing[0]]} and no model.onnx, which needs the {needed} image. "
            f"Use --runtime {needed}, or add a model.onnx (modelship convert)"
        )
    runtime = force or needed
    if force is not None:
        return ImageChoice(runtime, f"--runtime {force} was given", forced=True)
    if needed == "onnx":
        return ImageChoice(runtime, "every version has a model.onnx: onnxruntime is enough")
    example = by_runtime[needed][0]
    return ImageChoice(
        runtime,
        f"version(s) {_listed(by_runtime[needed])} hold {held[example]} and no model.onnx",
    )
