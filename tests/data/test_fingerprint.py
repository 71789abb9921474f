from __future__ import annotations

import numpy as np
import pytest

from modelship.data.fingerprint import fingerprint, input_stats


def test_format_and_stability() -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    digest = fingerprint(x)
    assert digest.startswith("sha256:")
    assert len(digest) == len("sha256:") + 64
    assert fingerprint(x.copy()) == digest


def test_any_change_changes_the_fingerprint() -> None:
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    y = np.array([0, 1, 2], dtype=np.int64)
    base = fingerprint(x, y)
    changed = x.copy()
    changed[1, 2] += 1e-6
    assert fingerprint(changed, y) != base
    assert fingerprint(x.reshape(4, 3), y) != base  # same bytes, other shape
    assert fingerprint(x.view(np.int32), y) != base  # same bytes, other dtype
    assert fingerprint(y, x) != base  # order matters
    assert fingerprint(np.asfortranarray(x), y) == base  # memory layout does not


def test_input_stats() -> None:
    x = np.array([[[0.0, 1.0]], [[0.5, 1.0]]], dtype=np.float32)  # 2 images of 1x2
    y = np.array([1, 1], dtype=np.int64)
    stats = input_stats(x, y, ["a", "b", "c"])
    assert stats["n"] == 2
    assert stats["n_features"] == 2
    assert stats["min"] == 0.0
    assert stats["max"] == 1.0
    assert stats["mean"] == 0.625
    assert stats["feature_mean"] == [0.25, 1.0]
    assert stats["feature_std"] == [0.25, 0.0]
    assert stats["class_counts"] == {"a": 0, "b": 2, "c": 0}
    # Ten bins over [0, 1]: 0.0 in the first, 0.5 in the sixth, 1.0 (the maximum) in the last.
    assert stats["histogram_bins"] == 10
    assert stats["feature_histograms"] == [
        [1, 0, 0, 0, 0, 1, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
    ]


def test_input_stats_match_numpy_on_many_rows() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((10_000, 7, 4), dtype=np.float32)  # more rows than one block
    y = rng.integers(0, 3, 10_000)
    stats = input_stats(x, y, ["a", "b", "c"])
    flat = x.reshape(len(x), -1).astype(np.float64)
    np.testing.assert_allclose(stats["feature_mean"], flat.mean(axis=0), atol=2e-6)
    np.testing.assert_allclose(stats["feature_std"], flat.std(axis=0), atol=2e-6)
    assert stats["std"] == pytest.approx(flat.std(), abs=2e-6)
    assert sum(stats["class_counts"].values()) == 10_000


def test_feature_histograms_match_numpy_on_many_rows() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(9_000, 3)).astype(np.float32)  # more rows than one block
    stats = input_stats(x, np.zeros(9_000, dtype=np.int64), ["a"])
    edges = np.linspace(stats["min"], stats["max"], 11)
    # The outer bins take all below or above (the recorded minimum and maximum are rounded).
    edges[0], edges[-1] = -np.inf, np.inf
    expected = [np.histogram(x[:, f], bins=edges)[0].tolist() for f in range(3)]
    assert stats["feature_histograms"] == expected
