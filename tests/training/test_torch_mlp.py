"""The PyTorch recipe: accuracy after one epoch, reproducibility, the seed's bugs fixed."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from modelship.data import Dataset
from modelship.data.digits import load_digits_dataset
from modelship.training import TrainParams, TrainResult
from modelship.training.torch_export import load_program
from modelship.training.torch_mlp import MnistMLP, MnistTorchRecipe
from tests.fixtures.trained import trained_torch


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return trained_torch(tmp_path_factory)


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_digits_dataset()


def _one_epoch(dataset: Dataset, seed: int) -> MnistTorchRecipe:
    recipe = MnistTorchRecipe()
    recipe.build(dataset, TrainParams(epochs=1, seed=seed))
    recipe.fit_epoch(dataset.x_train, dataset.y_train, lambda n: None)
    return recipe


@pytest.fixture(scope="module")
def retrained(digits: Dataset) -> MnistTorchRecipe:
    """The shared run's recipe and seed (0), trained again outside the pipeline."""
    return _one_epoch(digits, seed=0)


def test_one_epoch_on_the_bundled_digits_beats_80_percent(trained: TrainResult) -> None:
    assert trained.test_accuracy > 0.8
    assert trained.manifest.metrics["test_accuracy"] == pytest.approx(trained.test_accuracy)


def test_same_seed_same_weights_and_metrics(
    trained: TrainResult, retrained: MnistTorchRecipe, digits: Dataset
) -> None:
    loss, accuracy = retrained.evaluate(digits.x_test, digits.y_test)
    assert round(accuracy, 6) == trained.manifest.metrics["test_accuracy"]
    assert round(loss, 6) == trained.manifest.metrics["test_loss"]
    exported = load_program(trained.version_path / "model.pt2").state_dict()
    for name, weight in retrained.state_dict().items():
        torch.testing.assert_close(exported[f"net.{name}"], weight, rtol=0, atol=0)


def test_another_seed_gives_other_weights(digits: Dataset, retrained: MnistTorchRecipe) -> None:
    other = MnistTorchRecipe()
    other.build(digits, TrainParams(seed=1))
    assert not torch.equal(other.state_dict()["fc1.weight"], retrained.state_dict()["fc1.weight"])


def test_inference_is_deterministic_because_dropout_is_off(
    retrained: MnistTorchRecipe, digits: Dataset
) -> None:
    first = retrained.predict_proba(digits.x_test[:50])
    second = retrained.predict_proba(digits.x_test[:50])
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(first.sum(axis=1), 1.0, rtol=1e-5)


def test_training_mode_would_drop_units(retrained: MnistTorchRecipe, digits: Dataset) -> None:
    # The check above only means something if dropout is really in the network.
    net = retrained.net.train()
    x = torch.from_numpy(digits.x_test[:20].reshape(20, -1))
    try:
        assert not torch.equal(net(x), net(x))
    finally:
        net.eval()


def test_forward_returns_logits_and_normalises_inside() -> None:
    torch.manual_seed(0)
    net = MnistMLP().eval()
    pixels = torch.rand(4, 784)
    logits = net(pixels)
    # Raw logits (what CrossEntropyLoss needs), not log-probabilities: rows do not
    # exponentiate to 1.
    assert not torch.allclose(logits.exp().sum(dim=1), torch.ones(4), atol=1e-3)
    # The seed's Normalize((0.5,), (0.5,)) happens inside: feeding the normalised pixels to
    # the layers directly gives the same logits.
    direct = net.fc2(torch.relu(net.fc1((pixels - 0.5) / 0.5)))
    torch.testing.assert_close(logits, direct)
