from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelship.data import load_dataset
from modelship.data.dataset import Dataset, stratified_split
from modelship.data.digits import DIGITS_NAME, load_digits_dataset, upscale
from modelship.errors import BadConfig, InvalidInput


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_digits_dataset()


def test_shapes_types_and_range(digits: Dataset) -> None:
    assert digits.x_train.shape[1:] == (28, 28)
    assert len(digits.x_train) + len(digits.x_test) == 1797
    assert digits.x_train.dtype == np.float32
    assert digits.y_train.dtype == np.int64
    assert digits.x_train.min() >= 0.0
    assert digits.x_train.max() <= 1.0
    assert digits.x_train.max() > 0.9, "ink should reach full intensity"
    assert digits.labels == [str(i) for i in range(10)]


def test_it_says_it_is_not_mnist(digits: Dataset) -> None:
    assert digits.name == DIGITS_NAME == "sklearn-digits"
    assert "not MNIST" in digits.source
    assert "scikit-learn" in digits.source


def test_default_loader_without_a_directory_is_the_bundled_digits() -> None:
    assert load_dataset("mnist").name == DIGITS_NAME
    assert load_dataset("digits").name == DIGITS_NAME


def test_unknown_dataset_is_refused() -> None:
    with pytest.raises(BadConfig, match="choose one of"):
        load_dataset("cifar")


def test_digits_take_no_data_directory(tmp_path: Path) -> None:
    with pytest.raises(BadConfig, match="take no data directory"):
        load_dataset("digits", tmp_path)


def test_split_is_deterministic_and_stratified(digits: Dataset) -> None:
    again = load_digits_dataset()
    np.testing.assert_array_equal(digits.x_test, again.x_test)
    np.testing.assert_array_equal(digits.y_train, again.y_train)
    test_share = np.bincount(digits.y_test) / (
        np.bincount(digits.y_test) + np.bincount(digits.y_train)
    )
    assert np.all(np.abs(test_share - 0.2) < 0.01)


def test_another_seed_gives_another_split() -> None:
    y = np.repeat(np.arange(10), 20).astype(np.int64)
    first_train, first_test = stratified_split(y, 0.25, seed=0)
    _, second_test = stratified_split(y, 0.25, seed=1)
    assert not np.array_equal(first_test, second_test)
    assert sorted(np.concatenate([first_train, first_test]).tolist()) == list(range(200))
    assert np.bincount(y[first_test]).tolist() == [5] * 10


def test_upscale_keeps_the_image_where_it_was() -> None:
    image = np.zeros((1, 8, 8))
    image[0, :4, :4] = 16  # ink in the top-left quarter only
    big = upscale(image, 16.0)[0]
    assert big.shape == (28, 28)
    assert big[:12, :12].mean() > 0.9
    assert big[16:, :].max() < 0.05  # Lanczos rings faintly past the edge, nothing more
    assert big[:, 16:].max() < 0.05


def test_dataset_refuses_broken_invariants(digits: Dataset) -> None:
    with pytest.raises(InvalidInput, match="pixel values"):
        Dataset(
            digits.x_train * 255, digits.y_train, digits.x_test, digits.y_test, name="raw-bytes"
        )
    with pytest.raises(InvalidInput, match="one per image"):
        Dataset(digits.x_train, digits.y_train[:-1], digits.x_test, digits.y_test, name="short")
    with pytest.raises(InvalidInput, match="float32 N x 28 x 28"):
        Dataset(
            digits.x_train.reshape(len(digits.x_train), -1),
            digits.y_train,
            digits.x_test,
            digits.y_test,
            name="flat",
        )
