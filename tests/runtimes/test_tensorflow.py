"""The TensorFlow runtime on SavedModels written by plain TensorFlow code."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from modelship.errors import BadConfig
from modelship.runtimes import detect_runtime, load_runtime
from modelship.runtimes.tensorflow import load_savedmodel
from tests.fixtures.tf_models import tf_outputs, write_pair_savedmodel

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def pair_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pair_savedmodel(tmp_path_factory.mktemp("pair") / "1")


def test_savedmodel_alone_is_served_by_tensorflow(pair_dir: Path) -> None:
    assert detect_runtime(pair_dir) == "tensorflow"
    runtime = load_runtime(pair_dir)
    try:
        assert runtime.name == "tensorflow"
        assert list(runtime.signatures) == ["serving_default", "norm"]
    finally:
        runtime.close()


def test_signatures_are_the_savedmodels_own(pair_dir: Path) -> None:
    runtime = load_savedmodel(pair_dir)
    try:
        default = runtime.signatures["serving_default"]
        assert {k: (v.dtype, v.shape) for k, v in default.inputs.items()} == {
            "a": ("float32", (-1, 3)),
            "b": ("int64", (-1,)),
        }
        assert {k: (v.dtype, v.shape) for k, v in default.outputs.items()} == {
            "doubled": ("int64", (-1,)),
            "weighted": ("float32", (-1, 3)),
        }
        assert default.method_name == "tensorflow/serving/predict"
        rendered = default.to_tf_serving()
        assert rendered["inputs"]["b"]["dtype"] == "DT_INT64"
        # The graph tensor behind the key, as TF Serving reports it.
        assert rendered["inputs"]["a"]["name"] == "serving_default_a:0"
        norm = runtime.signatures["norm"]
        assert list(norm.inputs) == ["x"]
        assert norm.outputs["norm"].shape == (-1,)
    finally:
        runtime.close()


def test_predict_equals_tensorflow(pair_dir: Path) -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=(4, 3)).astype(np.float32)
    b = np.array([1, -2, 3, 0], dtype=np.int64)
    expected = tf_outputs(pair_dir, "serving_default", a=a, b=b)
    runtime = load_savedmodel(pair_dir)
    try:
        got = runtime.predict("serving_default", {"a": a, "b": b})
        np.testing.assert_allclose(got["weighted"], expected["weighted"], atol=1e-6)
        np.testing.assert_array_equal(got["doubled"], [2, -4, 6, 0])
        assert got["doubled"].dtype == np.int64
        norm = runtime.predict("norm", {"x": a})["norm"]
        np.testing.assert_allclose(norm, tf_outputs(pair_dir, "norm", x=a)["norm"], atol=1e-6)
    finally:
        runtime.close()


def test_not_a_savedmodel_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "saved_model.pb").write_bytes(b"this is not a protobuf at all \xff\xfe")
    with pytest.raises(BadConfig, match=r"saved_model\.pb"):
        load_savedmodel(tmp_path)


def _without_tensorflow(tmp: Path) -> dict[str, str]:
    """An environment where ``import tensorflow`` fails, as on the serving install."""
    shadow = tmp / "shadow"
    (shadow / "tensorflow").mkdir(parents=True, exist_ok=True)
    (shadow / "tensorflow" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'tensorflow'\", name='tensorflow')\n"
    )
    return {"PYTHONPATH": str(shadow)}


def test_without_tensorflow_the_error_names_the_extra(pair_dir: Path, tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        from pathlib import Path
        from modelship.errors import RuntimeUnavailable
        from modelship.runtimes import load_runtime
        try:
            load_runtime(Path({str(pair_dir)!r}))
        except RuntimeUnavailable as exc:
            print("UNAVAILABLE", exc.message)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**_env(), **_without_tensorflow(tmp_path)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "UNAVAILABLE" in done.stdout
    assert "pip install 'modelship[tensorflow]'" in done.stdout


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)
