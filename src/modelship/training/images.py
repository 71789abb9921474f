"""Training the image classifier: folder -> seeded split -> CNN -> version with its pictures.

The published version holds ``model.onnx``, ``modelship.json`` (class names, the exact
preprocessing, metrics, parameters, data fingerprint) and three pictures: the training curve,
the validation confusion matrix and a grid of validation predictions.
"""

from __future__ import annotations

import hashlib
import importlib
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from modelship.data.images import ImageDataset, ImagePreprocessing, load_image_folder
from modelship.data.synthetic import write_synthetic_images
from modelship.errors import BadConfig
from modelship.export import code_version, write_version
from modelship.manifest import Manifest
from modelship.training.device import training_device
from modelship.training.image_figures import (
    confusion_matrix,
    plot_confusion_matrix,
    plot_prediction_grid,
)

__all__ = [
    "CONFUSION_NAME",
    "GRID_NAME",
    "ImageTrainResult",
    "image_fingerprint",
    "train_images",
]

CURVE_NAME = "training_curve.png"
CONFUSION_NAME = "confusion_matrix.png"
GRID_NAME = "predictions.png"
# framework -> "module:class"; imported only when chosen, so an install without a framework can
# still refuse it with the extra to install. Both classes take the same arguments and methods.
IMAGE_RECIPES = {
    "torch": "modelship.training.torch_cnn:ImageTorchRecipe",
    "tensorflow": "modelship.training.keras_cnn:ImageKerasRecipe",
}
FRAMEWORKS = tuple(IMAGE_RECIPES)


@dataclass
class ImageTrainResult:
    """What a training run produced: the version, its manifest and validation results."""

    version_path: Path
    manifest: Manifest
    val_accuracy: float
    dataset: ImageDataset
    confusion: np.ndarray[Any, np.dtype[np.int64]]


def image_fingerprint(dataset: ImageDataset) -> str:
    """sha256 of the class names, labels and resized pixels of both parts of the split."""
    digest = hashlib.sha256()
    digest.update("\n".join(dataset.labels).encode())
    for array in (dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val):
        digest.update(np.ascontiguousarray(array).tobytes())
    return "sha256:" + digest.hexdigest()


def _recipe(framework: str, **settings: Any) -> Any:
    if framework not in IMAGE_RECIPES:
        raise BadConfig(
            f"no image recipe for framework {framework!r}; available: {', '.join(FRAMEWORKS)}"
        )
    module_name, _, class_name = IMAGE_RECIPES[framework].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise BadConfig(
            f"training images with {framework} needs {exc.name}: "
            f"pip install 'modelship[{framework}]'"
        ) from exc
    return getattr(module, class_name)(**settings)


def _pictures(
    recipe: Any, dataset: ImageDataset, history: list[dict[str, Any]], directory: Path, name: str
) -> tuple[dict[str, Path], np.ndarray[Any, np.dtype[np.int64]]]:
    from modelship.training.curves import plot_history

    probs = recipe.predict_proba(dataset.x_val)
    predicted = probs.argmax(axis=1)
    matrix = confusion_matrix(dataset.y_val, predicted, dataset.n_classes)
    curve = [{**h, "test_loss": h["val_loss"], "test_accuracy": h["val_accuracy"]} for h in history]
    shown = np.random.default_rng(0).permutation(len(dataset.x_val))[:15]
    files = {
        CURVE_NAME: plot_history(curve, directory / CURVE_NAME, f"{name} (test = validation)"),
        CONFUSION_NAME: plot_confusion_matrix(
            matrix, dataset.labels, directory / CONFUSION_NAME, f"{name}, validation"
        ),
        GRID_NAME: plot_prediction_grid(
            [dataset.x_val[i] for i in shown],
            [dataset.labels[predicted[i]] for i in shown],
            [float(probs[i, predicted[i]]) for i in shown],
            directory / GRID_NAME,
            truth=[dataset.labels[dataset.y_val[i]] for i in shown],
        ),
    }
    return files, matrix


def train_images(
    data_dir: Path | None = None,
    *,
    name: str = "images",
    framework: str = "torch",
    epochs: int = 8,
    image_size: int = 224,
    output: Path = Path("models"),
    version: int | None = None,
    seed: int = 0,
    batch_size: int = 16,
    learning_rate: float = 3e-3,
    val_fraction: float = 0.2,
    threads: int = 0,
    augmentation: bool = True,
    console: Console | None = None,
    device: str = "auto",
    amp: str = "off",
) -> ImageTrainResult:
    """Train the image classifier on a folder of class sub-folders and publish a version.

    Args:
        data_dir: ``DIR/<class>/<image>``; ``None`` writes and uses the bundled synthetic set.
        name: model name, the folder under ``output``.
        framework: ``torch`` or ``tensorflow``: the same network, schedule and inputs.
        epochs: passes over the training split.
        image_size: side the images are resized to (square).
        output: the model repository.
        version: explicit version number; ``None`` uses the current unix time.
        seed: seeds the split, initialisation, shuffling and augmentation.
        batch_size: examples per step.
        learning_rate: Adam's step size.
        val_fraction: share of each class held out for validation.
        threads: CPU threads; 0 uses all cores up to 4.
        augmentation: random horizontal flips and shifts of up to 10% while training.
        console: where progress goes.
        device: ``auto`` (a GPU when there is one), ``cpu``, ``cuda`` or ``cuda:N``.
        amp: mixed precision on a GPU (PyTorch): ``off``, ``bf16`` or ``fp16``.
    """
    console = console or Console()
    if framework not in IMAGE_RECIPES:
        _recipe(framework)  # refuses it, before the device is looked for
    place = training_device(framework, device, amp)
    recipe = _recipe(
        framework,
        learning_rate=learning_rate,
        batch_size=batch_size,
        seed=seed,
        threads=threads,
        augmentation=augmentation,
        device=place.device,
        amp=place.amp,
    )
    spec = ImagePreprocessing(size=(image_size, image_size))
    with tempfile.TemporaryDirectory(prefix="modelship-images-") as scratch:
        if data_dir is None:
            data_dir = Path(scratch) / "synthetic-shapes"
            write_synthetic_images(data_dir, seed=seed)
            console.print("data: no --data given, using the bundled synthetic shapes")
        with console.status(f"reading {data_dir}"):
            dataset = load_image_folder(Path(data_dir), spec, val_fraction=val_fraction, seed=seed)
        console.print(
            f"data: {dataset.source}; {len(dataset.x_train)} train, {len(dataset.x_val)} "
            f"validation, {image_size}x{image_size}"
        )
        amp_note = "" if place.amp == "off" else f", mixed precision {place.amp}"
        console.print(f"device: {place.description}{amp_note}")
        recipe.build(dataset, epochs)
        history: list[dict[str, Any]] = []
        for epoch in range(1, epochs + 1):
            with console.status(f"epoch {epoch}/{epochs}"):
                loss, accuracy = recipe.fit_epoch(dataset.x_train, dataset.y_train)
                val_loss, val_accuracy = recipe.evaluate(dataset.x_val, dataset.y_val)
            history.append(
                {
                    "epoch": epoch,
                    "loss": round(loss, 6),
                    "accuracy": round(accuracy, 6),
                    "val_loss": round(val_loss, 6),
                    "val_accuracy": round(val_accuracy, 6),
                }
            )
            console.print(
                f"epoch {epoch}/{epochs}  loss {loss:.4f}  accuracy {accuracy:.4f}  "
                f"val_loss {val_loss:.4f}  val_accuracy {val_accuracy:.4f}"
            )
        pictures, matrix = _pictures(recipe, dataset, history, Path(scratch), name)
        manifest = Manifest(
            name=name,
            framework=recipe.framework,
            signatures={"serving_default": recipe.signature()},
            labels=list(dataset.labels),
            metrics={
                "val_accuracy": history[-1]["val_accuracy"],
                "val_loss": history[-1]["val_loss"],
                "confusion_matrix": matrix.tolist(),
                "history": history,
            },
            parameters={
                "recipe": "images",
                "epochs": epochs,
                "batch_size": batch_size,
                "learning_rate": learning_rate,
                "seed": seed,
                "val_fraction": val_fraction,
                "augmentation": (
                    "random horizontal flip, shifts up to 10%" if augmentation else "none"
                ),
                **place.to_json(),
            },
            data={
                "name": dataset.name,
                "source": dataset.source,
                "fingerprint": image_fingerprint(dataset),
                "n_train": len(dataset.x_train),
                "n_val": len(dataset.x_val),
                "input": f"RGB {image_size}x{image_size}, scaled to [0, 1], NHWC",
            },
            preprocessing=spec.to_json(),
            code_version=code_version(),
            framework_versions={
                **recipe.framework_versions(),
                "numpy": np.__version__,
                "python": platform.python_version(),
            },
        )
        with console.status("exporting"):
            path, manifest = write_version(
                Path(output) / name, manifest, recipe.export, version=version, extra_files=pictures
            )
    val_accuracy = float(history[-1]["val_accuracy"])
    console.print(f"validation accuracy {val_accuracy:.4f}; exported version {manifest.version}")
    console.print(f"pictures: {', '.join(str(path / p) for p in pictures)}")
    return ImageTrainResult(path, manifest, val_accuracy, dataset, matrix)
