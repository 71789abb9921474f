"""Top-k class names and scores beside the probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from modelship.errors import InvalidInput
from modelship.serving.topk import add_top_k, requested_top_k


def test_reads_and_validates_the_parameter() -> None:
    assert requested_top_k({"instances": []}) is None
    assert requested_top_k({"parameters": {}}) is None
    assert requested_top_k({"parameters": {"top_k": 2}}) == 2
    for bad in ({"parameters": []}, {"parameters": {"top_k": 0}}, {"parameters": {"top_k": "3"}},
                {"parameters": {"top_k": True}}, {"parameters": {"k": 3}}):  # fmt: skip
        with pytest.raises(InvalidInput):
            requested_top_k(bad)


def test_adds_classes_and_scores_best_first() -> None:
    probs = np.asarray([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]], dtype=np.float32)
    out = add_top_k({"probabilities": probs}, ["cat", "dog", "fox"], 2)
    assert out["probabilities"] is probs
    assert out["classes"].tolist() == [[b"dog", b"fox"], [b"cat", b"fox"]]
    np.testing.assert_allclose(out["scores"], [[0.6, 0.3], [0.5, 0.3]])
    # k larger than the classes is capped; no labels gives indices.
    out = add_top_k({"y": probs}, [], 10)
    assert out["classes"].tolist()[0] == [b"1", b"2", b"0"]


def test_refuses_outputs_that_are_not_class_scores() -> None:
    with pytest.raises(InvalidInput, match="batch x classes"):
        add_top_k({"y": np.zeros(3, dtype=np.float32)}, [], 1)
    with pytest.raises(InvalidInput):
        add_top_k({"a": np.zeros((1, 2)), "b": np.zeros((1, 2))}, [], 1)
