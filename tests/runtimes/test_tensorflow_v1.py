"""TF1 SavedModels in a session: the kind is told from the file, signatures run by tensor name,
and what the graph refuses is the client's error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelship.errors import InvalidInput
from modelship.runtimes.tensorflow import _read_savedmodel, load_savedmodel
from modelship.runtimes.tensorflow_v1 import SessionRuntime, is_tf1_savedmodel

pytest.importorskip("tensorflow")

from tests.fixtures.tf_models import write_pair_savedmodel, write_tagged_savedmodel


def test_a_tf1_graph_loads_into_a_session(tmp_path: Path) -> None:
    path = write_tagged_savedmodel(tmp_path / "1", ["serve"])
    assert is_tf1_savedmodel(_read_savedmodel(path))
    runtime = load_savedmodel(path)
    try:
        assert isinstance(runtime, SessionRuntime)
        got = runtime.predict("serving_default", {"x": np.array([[1, 2, 3]], np.float32)})
        np.testing.assert_allclose(got["y"], [[3, 5, 7]])
        with pytest.raises(InvalidInput, match="refused the input: signature 'serving_default'"):
            runtime.predict("serving_default", {"x": np.zeros((1, 4), np.float32)})
    finally:
        runtime.close()
        runtime.close()  # twice is harmless


def test_a_tf2_savedmodel_is_not_taken_for_tf1(tmp_path: Path) -> None:
    path = write_pair_savedmodel(tmp_path / "1")
    assert not is_tf1_savedmodel(_read_savedmodel(path))
