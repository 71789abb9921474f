"""The shared training pipeline: data, seeded training with progress, metrics, curve, export.

Every framework's recipe runs through :func:`run_training`, so the manifest, the curve and the
published version look the same whichever framework trained the model.
"""

from __future__ import annotations

import platform
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from modelship.data import Dataset, load_dataset
from modelship.data.fingerprint import dataset_fingerprint, input_stats
from modelship.errors import AlreadyExists
from modelship.export import code_version, write_version
from modelship.manifest import Manifest
from modelship.repository import version_path
from modelship.training.device import training_device
from modelship.training.recipe import Recipe, TrainParams, get_recipe
from modelship.training.serving_names import ServingNames

__all__ = ["CURVE_NAME", "TrainResult", "run_training", "train_model"]

CURVE_NAME = "training_curve.png"


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        version_path: the published version directory, ``<output>/<name>/<version>``.
        manifest: the manifest written there.
        test_accuracy: accuracy on the test split after the last epoch, dropout off.
        x_test: the test images flattened to the served input, float32 ``N x 784`` in [0, 1].
        y_test: the test labels, int64 ``N``.
        dataset: the dataset the model was trained on.
    """

    version_path: Path
    manifest: Manifest
    test_accuracy: float
    x_test: np.ndarray[Any, np.dtype[np.float32]]
    y_test: np.ndarray[Any, np.dtype[np.int64]]
    dataset: Dataset


def _refuse_existing(base_path: Path, version: int | None) -> None:
    # Checked before loading data and training, so a taken version fails in seconds, not after
    # minutes of work; publishing checks again, atomically.
    if version is not None and version_path(base_path, version).exists():
        raise AlreadyExists(
            f"{version_path(base_path, version)} already exists and is never overwritten; "
            f"pick another --version or leave it out"
        )


def _seed_everything(seed: int) -> None:
    # Recipes seed their framework; numpy is shared by all of them.
    np.random.seed(seed)


def _fit(
    recipe: Recipe,
    dataset: Dataset,
    params: TrainParams,
    console: Console,
    on_epoch: Callable[[dict[str, Any]], None] | None,
) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = []
    columns = (
        TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
    )
    n = len(dataset.x_train)
    with Progress(*columns, console=console, transient=True) as progress:
        for epoch in range(1, params.epochs + 1):
            task = progress.add_task("train", total=n, epoch=epoch, epochs=params.epochs, loss="-")

            def advance(examples: int, task: TaskID = task) -> None:
                progress.advance(task, examples)

            loss, accuracy = recipe.fit_epoch(dataset.x_train, dataset.y_train, advance)
            progress.update(task, loss=f"{loss:.4f}")
            test_loss, test_accuracy = recipe.evaluate(dataset.x_test, dataset.y_test)
            progress.remove_task(task)
            entry = {
                "epoch": epoch,
                "loss": round(loss, 6),
                "accuracy": round(accuracy, 6),
                "test_loss": round(test_loss, 6),
                "test_accuracy": round(test_accuracy, 6),
            }
            history.append(entry)
            console.print(
                f"epoch {epoch}/{params.epochs}  loss {loss:.4f}  accuracy {accuracy:.4f}  "
                f"test_loss {test_loss:.4f}  test_accuracy {test_accuracy:.4f}"
            )
            if on_epoch is not None:
                on_epoch(entry)
    return history


def _predicted_counts(recipe: Recipe, dataset: Dataset) -> dict[str, int]:
    """How often the trained model predicts each class on the test split."""
    predicted = np.argmax(recipe.predict_proba(dataset.x_test), axis=1)
    counts = np.bincount(predicted, minlength=len(dataset.labels))
    return {label: int(c) for label, c in zip(dataset.labels, counts, strict=True)}


def run_training(
    recipe: Recipe,
    dataset: Dataset,
    params: TrainParams,
    output: Path,
    *,
    version: int | None = None,
    console: Console | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    device_name: str = "",
    names: ServingNames | None = None,
) -> TrainResult:
    """Train ``recipe`` on ``dataset`` and publish the result as a new version.

    Args:
        recipe: a fresh recipe (see :func:`modelship.training.recipe.get_recipe`).
        dataset: the data; its test split gives the reported accuracy.
        params: training parameters, recorded in the manifest.
        output: the model repository; the version lands in ``output/<recipe.name>/<version>``.
        version: explicit version number, or ``None`` for the next one (unix time).
        console: where progress and metrics go; a default rich console if ``None``.
        on_epoch: called with each epoch's metrics after it ends.
        device_name: the training device in words (``params.device`` when empty).
        names: the signature, input and output names to serve the version under.

    Raises:
        AlreadyExists: ``version`` is already published.
    """
    console = console or Console()
    names = names or ServingNames()
    _refuse_existing(output / recipe.name, version)
    console.print(
        f"data: {dataset.source} ({len(dataset.x_train)} train, {len(dataset.x_test)} test)"
    )
    device_name = device_name or params.device
    amp = "" if params.amp == "off" else f", mixed precision {params.amp}"
    console.print(f"device: {device_name}{amp}")
    _seed_everything(params.seed)
    recipe.build(dataset, params)
    history = _fit(recipe, dataset, params, console, on_epoch)
    test_loss, test_accuracy = recipe.evaluate(dataset.x_test, dataset.y_test)
    manifest = Manifest(
        name=recipe.name,
        framework=recipe.framework,
        signatures=names.signatures(recipe.signature()),
        labels=list(dataset.labels),
        metrics={
            "test_accuracy": round(test_accuracy, 6),
            "test_loss": round(test_loss, 6),
            "history": history,
        },
        parameters={"recipe": recipe.name, **params.to_json(), "device_name": device_name},
        data={
            "name": dataset.name,
            "source": dataset.source,
            "fingerprint": dataset_fingerprint(dataset),
            "n_train": len(dataset.x_train),
            "n_test": len(dataset.x_test),
            "input": "28x28 grayscale pixels in [0, 1], flattened row-major to 784 values",
            "stats": {
                **input_stats(dataset.x_train, dataset.y_train, dataset.labels),
                # What a server compares the classes it predicts live with.
                "predicted_class_counts": _predicted_counts(recipe, dataset),
            },
        },
        code_version=code_version(),
        framework_versions={
            **recipe.framework_versions(),
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    )
    with tempfile.TemporaryDirectory(prefix="modelship-run-") as run_dir:
        from modelship.training.curves import plot_history

        curve = plot_history(
            history,
            Path(run_dir) / CURVE_NAME,
            f"{recipe.name} ({recipe.framework}) on {dataset.name}",
        )
        with console.status("exporting"):
            path, manifest = write_version(
                output / recipe.name,
                manifest,
                names.export_with(recipe.export),
                version=version,
                extra_files={CURVE_NAME: curve},
            )
    console.print(
        f"test_accuracy {test_accuracy:.4f} on {len(dataset.x_test)} {dataset.name} images"
    )
    console.print(f"exported version {manifest.version}: {path}")
    return TrainResult(
        version_path=path,
        manifest=manifest,
        test_accuracy=test_accuracy,
        x_test=dataset.x_test.reshape(len(dataset.x_test), -1),
        y_test=dataset.y_test,
        dataset=dataset,
    )


def train_model(
    recipe: str = "mnist",
    framework: str = "torch",
    epochs: int = 5,
    data_dir: Path | None = None,
    output: Path = Path("models"),
    version: int | None = None,
    *,
    seed: int = 0,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    threads: int = 0,
    mirrors: list[str] | None = None,
    console: Console | None = None,
    device: str = "auto",
    amp: str = "off",
    names: ServingNames | None = None,
) -> TrainResult:
    """Load the data, train a recipe and publish a version: the one call behind ``modelship train``.

    Args:
        recipe: the model recipe (``mnist``).
        framework: ``torch`` or ``tensorflow`` (the same model, data and outputs).
        epochs: passes over the training data.
        data_dir: a directory of MNIST IDX files (downloaded there if missing); ``None`` trains
            on scikit-learn's bundled digits (not MNIST), which needs no network.
        output: the model repository; the version lands in ``output/<recipe>/<version>``.
        version: explicit version number; ``None`` uses the current unix time.
        seed: seeds initialisation, dropout and shuffling.
        batch_size: examples per step.
        learning_rate: Adam's step size.
        threads: CPU threads for training; 0 lets the recipe pick (1 for the MLP).
        mirrors: base URLs to fetch missing MNIST files from; ``None`` uses the public ones.
        console: where progress goes.
        device: ``auto`` (a GPU when there is one), ``cpu``, ``cuda`` or ``cuda:N``.
        amp: mixed precision on a GPU (PyTorch): ``off``, ``bf16`` or ``fp16``.
        names: the signature, input and output names (default ``serving_default``,
            ``images``, ``probabilities``).

    Raises:
        BadConfig: the device asked for is not there, or ``amp`` cannot apply to it.
    """
    console = console or Console()
    chosen = get_recipe(recipe, framework)
    place = training_device(framework, device, amp)
    params = TrainParams(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        threads=threads,
        device=place.device,
        amp=place.amp,
    )
    _refuse_existing(Path(output) / chosen.name, version)
    dataset = load_dataset("mnist", data_dir, mirrors=mirrors)
    return run_training(
        chosen,
        dataset,
        params,
        Path(output),
        version=version,
        console=console,
        device_name=place.description,
        names=names,
    )
