"""The framework-neutral recipe interface and the factory that picks a recipe by name.

A recipe is one model of one framework (the seed's MNIST MLP in PyTorch, the same MLP in Keras).
It knows how to build, fit one epoch, evaluate, predict and write its artifacts; everything
around that (data, progress, metrics history, curves, manifest, atomic publishing) is shared
and lives in :mod:`modelship.training.pipeline`, so every framework gets it the same way.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from modelship.data import Dataset
from modelship.errors import BadConfig
from modelship.signature import PREDICT_METHOD, Signature, TensorSpec

__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAME",
    "RECIPES",
    "BatchCallback",
    "Recipe",
    "TrainParams",
    "get_recipe",
    "image_classifier_signature",
]

# The served tensor names, identical for every framework so clients never care which one trained.
INPUT_NAME = "images"
OUTPUT_NAME = "probabilities"

# Called by ``fit_epoch`` after each batch with the number of examples it just consumed.
BatchCallback = Callable[[int], None]


@dataclass(frozen=True)
class TrainParams:
    """Training parameters shared by all recipes; recorded in the manifest as is.

    Attributes:
        epochs: passes over the training split.
        batch_size: examples per optimiser step.
        learning_rate: the optimiser's step size (Adam in the seeds).
        seed: seeds weight init, dropout and the shuffling order.
        threads: intra-op CPU threads; 0 lets the recipe pick (1 for the MLPs: more threads
            only add synchronisation to such small matrix products).
        device: where to train, resolved (``cpu`` or ``cuda:N``; see training.device).
        amp: mixed precision on a GPU: ``off``, ``bf16`` or ``fp16``.
    """

    epochs: int = 5
    batch_size: int = 64
    learning_rate: float = 1e-3
    seed: int = 0
    threads: int = 0
    device: str = "cpu"
    amp: str = "off"

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise BadConfig(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise BadConfig(f"batch_size must be at least 1, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise BadConfig(f"learning_rate must be positive, got {self.learning_rate}")
        if self.threads < 0:
            raise BadConfig(f"threads must be 0 (automatic) or more, got {self.threads}")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def image_classifier_signature(n_features: int, n_classes: int) -> Signature:
    """``images`` float32 ``[-1, n_features]`` -> ``probabilities`` float32 ``[-1, n_classes]``."""
    return Signature(
        inputs={INPUT_NAME: TensorSpec("float32", (-1, n_features))},
        outputs={OUTPUT_NAME: TensorSpec("float32", (-1, n_classes))},
        method_name=PREDICT_METHOD,
    )


class Recipe(Protocol):
    """One model in one framework, driven by :func:`modelship.training.pipeline.run_training`.

    Inputs are always the dataset's float32 ``N x 28 x 28`` images in ``[0, 1]``; a recipe
    flattens or reshapes them itself. The exported model must take raw ``[0, 1]`` pixels
    flattened to ``n_features`` values under :data:`INPUT_NAME` and return softmax
    probabilities under :data:`OUTPUT_NAME`, so any normalisation belongs inside the model.
    """

    #: model name, the folder under the output directory (``mnist``)
    name: str
    #: ``torch`` or ``tensorflow``
    framework: str

    def build(self, dataset: Dataset, params: TrainParams) -> None:
        """Create the model and optimiser, seeded from ``params.seed``."""
        ...

    def fit_epoch(
        self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any], on_batch: BatchCallback
    ) -> tuple[float, float]:
        """Train one epoch; the mean training loss and accuracy over it."""
        ...

    def evaluate(self, x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> tuple[float, float]:
        """Loss and accuracy in inference mode (dropout off)."""
        ...

    def predict_proba(self, x: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Class probabilities ``N x n_classes`` in inference mode."""
        ...

    def signature(self) -> Signature:
        """The serving signature of the exported artifacts."""
        ...

    def export(self, directory: Path) -> dict[str, str]:
        """Write the servable artifacts into ``directory``; role -> file name."""
        ...

    def framework_versions(self) -> dict[str, str]:
        """Package -> version of what trained and exported the model."""
        ...


# (recipe, framework) -> "module:factory"; imported only when chosen, so an install without a
# framework can still list and refuse recipes with a helpful message. A new framework adds one
# entry here and one module implementing Recipe; the pipeline, manifest and CLI need no change.
RECIPES: dict[tuple[str, str], str] = {
    ("mnist", "torch"): "modelship.training.torch_mlp:MnistTorchRecipe",
    ("mnist", "tensorflow"): "modelship.training.keras_mlp:MnistKerasRecipe",
}

_EXTRAS = {"torch": "torch", "tensorflow": "tensorflow"}


def get_recipe(recipe: str, framework: str) -> Recipe:
    """A new recipe instance for ``recipe`` trained with ``framework``.

    Raises:
        BadConfig: the combination is unknown, or its framework is not installed.
    """
    key = (recipe, framework)
    if key not in RECIPES:
        known = ", ".join(f"{r} --framework {f}" for r, f in sorted(RECIPES))
        raise BadConfig(f"no recipe {recipe!r} for framework {framework!r}; known: {known}")
    module_name, _, factory = RECIPES[key].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        extra = _EXTRAS.get(framework, framework)
        raise BadConfig(
            f"training with {framework} needs {exc.name}: pip install 'modelship[{extra}]'"
        ) from exc
    made: Recipe = getattr(module, factory)()
    return made
