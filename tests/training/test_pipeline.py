"""The shared pipeline: metrics history, the training curve, the manifest, the recipe factory."""

from __future__ import annotations

import pytest
from PIL import Image

from modelship.errors import BadConfig
from modelship.training import TrainParams, TrainResult, get_recipe
from modelship.training.pipeline import CURVE_NAME
from tests.fixtures.trained import trained_torch


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return trained_torch(tmp_path_factory)


def test_history_has_one_entry_per_epoch(trained: TrainResult) -> None:
    history = trained.manifest.metrics["history"]
    assert [h["epoch"] for h in history] == [1]
    assert set(history[0]) == {"epoch", "loss", "accuracy", "test_loss", "test_accuracy"}
    assert history[-1]["test_accuracy"] == pytest.approx(trained.test_accuracy, abs=1e-6)


def test_training_curve_is_a_png_beside_the_version(trained: TrainResult) -> None:
    with Image.open(trained.version_path / CURVE_NAME) as image:
        assert image.format == "PNG"
        assert image.size == (900, 360)


def test_result_carries_the_test_split_in_the_served_shape(trained: TrainResult) -> None:
    assert trained.x_test.shape == (len(trained.y_test), 784)
    assert trained.x_test.dtype.name == "float32"


def test_unknown_recipe_or_framework_is_refused() -> None:
    known = "known: mnist --framework tensorflow, mnist --framework torch"
    with pytest.raises(BadConfig, match=known):
        get_recipe("mnist", "jax")
    with pytest.raises(BadConfig, match="no recipe 'cifar'"):
        get_recipe("cifar", "torch")


@pytest.mark.parametrize(
    ("field", "value"), [("epochs", 0), ("batch_size", 0), ("learning_rate", 0.0), ("threads", -1)]
)
def test_bad_parameters_are_refused(field: str, value: float) -> None:
    with pytest.raises(BadConfig, match=field):
        TrainParams(**{field: value})
