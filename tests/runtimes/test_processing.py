"""A version's own ``process.py``: around the model, or the model itself."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from modelship.errors import BadConfig, InvalidInput
from modelship.runtimes import load_runtime
from modelship.runtimes.processing import ProcessingFailed
from tests.fixtures.toy_models import two_in_two_out

AROUND = """
import numpy as np

def preprocess(inputs):
    return {"a": inputs["a"] + 1, "b": inputs["b"]}

def postprocess(outputs):
    return {"total": outputs["sum"].sum(axis=1)}

SIGNATURE = {"outputs": {"total": {"dtype": "float32", "shape": [-1]}}}
"""


def _version(tmp_path: Path, process: str, model: bool = True) -> Path:
    version = tmp_path / "m" / "1"
    version.mkdir(parents=True)
    if model:
        onnx.save(two_in_two_out(), str(version / "model.onnx"))
    (version / "process.py").write_text(process)
    return version


def test_pre_and_postprocess_run_around_the_model(tmp_path: Path) -> None:
    runtime = load_runtime(_version(tmp_path, AROUND))
    signature = runtime.signatures["serving_default"]
    assert list(signature.inputs) == ["a", "b"]  # the model's
    assert list(signature.outputs) == ["total"]  # SIGNATURE's
    a = np.array([[1, 2, 3]], dtype=np.float32)
    out = runtime.predict("serving_default", {"a": a, "b": a})
    assert out["total"].tolist() == [(2 + 1) + (3 + 2) + (4 + 3)]  # (a + 1) + b, summed
    runtime.close()


def test_an_exception_in_the_file_is_a_processing_failure_naming_its_line(
    tmp_path: Path,
) -> None:
    raising = AROUND.replace(
        '    return {"a": inputs["a"] + 1, "b": inputs["b"]}',
        '    raise KeyError("no such token")',
    )
    runtime = load_runtime(_version(tmp_path, raising))
    a = np.zeros((1, 3), dtype=np.float32)
    with pytest.raises(ProcessingFailed) as failed:
        runtime.predict("serving_default", {"a": a, "b": a})
    assert failed.value.code == "INTERNAL"
    assert failed.value.message == (
        "process.py preprocess() failed: KeyError: 'no such token' "
        "(process.py, line 5, in preprocess)"
    )


def test_the_file_may_refuse_a_request_as_invalid_input(tmp_path: Path) -> None:
    refusing = "from modelship.errors import InvalidInput\n" + AROUND.replace(
        '    return {"a": inputs["a"] + 1, "b": inputs["b"]}',
        '    raise InvalidInput("a must be positive")',
    )
    runtime = load_runtime(_version(tmp_path, refusing))
    a = np.zeros((1, 3), dtype=np.float32)
    with pytest.raises(InvalidInput, match="a must be positive"):
        runtime.predict("serving_default", {"a": a, "b": a})


def test_sys_exit_in_the_file_does_not_end_the_process(tmp_path: Path) -> None:
    exiting = AROUND.replace(
        '    return {"total": outputs["sum"].sum(axis=1)}', "    raise SystemExit(3)"
    )
    runtime = load_runtime(_version(tmp_path, exiting))
    a = np.zeros((1, 3), dtype=np.float32)
    with pytest.raises(ProcessingFailed, match=r"postprocess\(\) failed: SystemExit: 3"):
        runtime.predict("serving_default", {"a": a, "b": a})


def test_a_file_that_fails_to_import_fails_the_load(tmp_path: Path) -> None:
    with pytest.raises(BadConfig, match=r"importing .*process.py failed: ZeroDivisionError"):
        load_runtime(_version(tmp_path, "x = 1 / 0\n"))


def test_a_link_out_of_the_version_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.py"
    outside.write_text(AROUND)
    version = _version(tmp_path, "")
    (version / "process.py").unlink()
    (version / "process.py").symlink_to(outside)
    with pytest.raises(BadConfig, match="must be a file inside"):
        load_runtime(version)


def test_a_version_with_only_a_process_file_is_served_by_its_predict(tmp_path: Path) -> None:
    eager = """
SIGNATURE = {
    "inputs": {"x": {"dtype": "float32", "shape": [-1, 2]}},
    "outputs": {"y": {"dtype": "float32", "shape": [-1]}},
}

def predict(inputs):
    return {"y": inputs["x"].sum(axis=1)}
"""
    runtime = load_runtime(_version(tmp_path, eager, model=False))
    assert runtime.name == "python"
    out = runtime.predict("serving_default", {"x": np.array([[1, 2], [3, 4]], np.float32)})
    assert out["y"].tolist() == [3.0, 7.0]
    with pytest.raises(BadConfig, match="defines no predict"):
        load_runtime(_version(tmp_path / "other", "SIGNATURE = {}\n", model=False))
