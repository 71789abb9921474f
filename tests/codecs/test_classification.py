"""Classification as Triton answers it: the k best ``score:index[:label]`` of each row."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.codecs.classification import (
    classification_count,
    classify_output,
    classify_outputs,
)
from modelship.errors import InvalidInput


def test_the_best_scores_first_with_labels() -> None:
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]], dtype=np.float32)
    answer = classify_output("p", scores, 2, ["cat", "dog", "eel"])
    assert answer.tolist() == [
        [b"0.700000:1:dog", b"0.200000:2:eel"],
        [b"0.500000:0:cat", b"0.250000:1:dog"],
    ]


def test_without_labels_and_integer_scores() -> None:
    answer = classify_output("OUTPUT0", np.array([[3, 9, 1]], dtype=np.int32), 1, [])
    assert answer.tolist() == [[b"9:1"]]


def test_only_the_named_outputs_are_classified() -> None:
    outputs = {"a": np.array([[1.0, 2.0]]), "b": np.array([[5.0, 6.0]])}
    answer = classify_outputs(outputs, {"b": 1}, [])
    assert answer["a"] is outputs["a"]
    assert answer["b"].tolist() == [[b"6.000000:1"]]


@pytest.mark.parametrize(
    ("count", "scores", "words"),
    [
        (4, np.zeros((1, 3), np.float32), "asks for 4 classes; it has 3"),
        (1, np.array(1.0), "holds no class scores"),
        (1, np.array([[b"x"]], dtype=object), "holds no class scores"),
    ],
)
def test_impossible_classifications_are_invalid(count: int, scores: np.ndarray, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        classify_output("p", scores, count, [])


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "3"])
def test_the_count_must_be_a_positive_integer(value: object) -> None:
    with pytest.raises(InvalidInput, match="positive number of classes"):
        classification_count("p", value)
    assert classification_count("p", 5) == 5
