"""Training: framework-neutral recipes, the shared pipeline and the ``train_model`` entry point.

Frameworks are imported only when a recipe that needs them is chosen.
"""

from __future__ import annotations

from modelship.training.pipeline import TrainResult, run_training, train_model
from modelship.training.recipe import Recipe, TrainParams, get_recipe

__all__ = ["Recipe", "TrainParams", "TrainResult", "get_recipe", "run_training", "train_model"]
