"""The TensorFlow runtime on SavedModels written by plain TensorFlow code."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from modelship.codecs.metadata import signature_def_json
from modelship.errors import BadConfig
from modelship.runtimes import detect_runtime, load_runtime
from modelship.runtimes.tensorflow import load_savedmodel
from tests.fixtures.tf_models import tf_outputs, write_pair_savedmodel, write_tagged_savedmodel

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def pair_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pair_savedmodel(tmp_path_factory.mktemp("pair") / "1")


def test_savedmodel_alone_is_served_by_tensorflow(pair_dir: Path) -> None:
    assert detect_runtime(pair_dir) == "tensorflow"
    runtime = load_runtime(pair_dir)
    try:
        assert runtime.name == "tensorflow"
        assert list(runtime.signatures) == ["serving_default", "greet", "norm"]
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
        rendered = signature_def_json(default)
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


def test_keras_model_export_is_served(tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(2)
    features = keras.Input(shape=(4,), name="features")
    extra = keras.Input(shape=(2,), name="extra")
    joined = keras.layers.Concatenate()([features, extra])
    scores = keras.layers.Dense(3, activation="softmax", name="scores")(joined)
    value = keras.layers.Dense(1, name="value")(joined)
    model = keras.Model([features, extra], [scores, value])
    model.export(str(tmp_path / "1"), verbose=False)

    runtime = load_runtime(tmp_path / "1")
    try:
        assert {"serving_default", "serve"} <= set(runtime.signatures)
        signature = runtime.signatures["serving_default"]
        assert {k: v.shape for k, v in signature.inputs.items()} == {
            "extra": (-1, 2),
            "features": (-1, 4),
        }
        rng = np.random.default_rng(0)
        x = {"features": rng.random((5, 4), "float32"), "extra": rng.random((5, 2), "float32")}
        got = runtime.predict("serving_default", x)
        want_scores, want_value = model.predict([x["features"], x["extra"]], verbose=0)
        # Keras names the exported outputs by position.
        np.testing.assert_allclose(got["output_0"], want_scores, atol=1e-5)
        np.testing.assert_allclose(got["output_1"], want_value, atol=1e-5)
    finally:
        runtime.close()


def test_intra_op_threads_size_tensorflows_thread_pools(pair_dir: Path) -> None:
    # A fresh process each: TensorFlow fixes its pools when its runtime starts.
    code = textwrap.dedent(
        f"""
        import json, os, sys
        from pathlib import Path
        import numpy as np
        from modelship.runtimes import RuntimeOptions, load_runtime
        import tensorflow as tf
        options = RuntimeOptions(intra_op_threads=int(sys.argv[1]))
        runtime = load_runtime(Path({str(pair_dir)!r}), options=options)
        runtime.predict(
            "serving_default", {{"a": np.ones((64, 3), np.float32), "b": np.ones(64, np.int64)}}
        )
        names = [Path(f"/proc/self/task/{{t}}/comm").read_text().strip()
                 for t in os.listdir("/proc/self/task")]
        print(json.dumps({{
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads(),
            "inter_pool": names.count("tf_Compute"),
            "threads": len(names),
        }}))
        """
    )
    runs = {
        threads: subprocess.Popen(
            [sys.executable, "-c", code, str(threads)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for threads in (1, 3)
    }
    seen = {}
    for threads, process in runs.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        seen[threads] = json.loads(out.splitlines()[-1])
    for threads in (1, 3):
        assert seen[threads]["intra"] == threads
        assert seen[threads]["inter"] == 1
        assert seen[threads]["inter_pool"] == 1  # TensorFlow names its inter-op threads
    # The intra-op pool really holds the threads asked for: two more for 3 than for 1.
    assert seen[3]["threads"] - seen[1]["threads"] == 2


def test_inter_op_threads_size_tensorflows_inter_op_pool(pair_dir: Path) -> None:
    # A fresh process: TensorFlow fixes its pools when its runtime starts.
    code = textwrap.dedent(
        f"""
        import json, os
        from pathlib import Path
        import numpy as np
        from modelship.runtimes import RuntimeOptions, load_runtime
        import tensorflow as tf
        options = RuntimeOptions(intra_op_threads=2, inter_op_threads=3)
        runtime = load_runtime(Path({str(pair_dir)!r}), options=options)
        runtime.predict(
            "serving_default", {{"a": np.ones((64, 3), np.float32), "b": np.ones(64, np.int64)}}
        )
        names = [Path(f"/proc/self/task/{{t}}/comm").read_text().strip()
                 for t in os.listdir("/proc/self/task")]
        print(json.dumps({{
            "intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter": tf.config.threading.get_inter_op_parallelism_threads(),
            "inter_pool": names.count("tf_Compute"),
        }}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"intra": 2, "inter": 3, "inter_pool": 3}


def test_saved_model_tags_choose_the_meta_graph(tmp_path: Path) -> None:
    path = write_tagged_savedmodel(tmp_path / "1", ["custom"])
    runtime = load_savedmodel(path, tags=("custom",))
    try:
        got = runtime.predict("serving_default", {"x": np.array([[1, 2, 3]], np.float32)})
        np.testing.assert_allclose(got["y"], [[3, 5, 7]])
    finally:
        runtime.close()
    with pytest.raises(BadConfig, match=r"no meta graph tagged gpu,serve .*it has: custom"):
        load_savedmodel(path, tags=("serve", "gpu"))
    # The default tag: TensorFlow refuses the graph tagged otherwise, as TF Serving does.
    with pytest.raises(BadConfig, match="cannot load the SavedModel"):
        load_savedmodel(path)
