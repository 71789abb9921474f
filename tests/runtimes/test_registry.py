"""The runtime table: names, model_platform lookups, detection order, options, entry points."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from modelship.errors import BadConfig
from modelship.runtimes import (
    ENTRY_POINT_GROUP,
    RuntimeOptions,
    RuntimeRegistry,
    RuntimeSpec,
    detect_runtime,
    get_runtime,
    load_runtime,
    runtime_for_platform,
)
from modelship.runtimes.registry import BUILTIN_RUNTIMES
from tests.fixtures.toy_models import softmax_linear, write_version

# A runtime another package ships: it serves ``model.echo`` (a number) as ``y = scale * x``.
PLUGIN_MODULE = '''
"""A runtime outside modelship, found through the modelship.runtimes entry points."""
from modelship.runtimes import RuntimeSpec
from modelship.signature import Signature, TensorSpec


class EchoRuntime:
    name = "echo"

    def __init__(self, scale, options):
        self.scale = scale
        self.options = options
        spec = TensorSpec("float32", (-1,))
        self.signatures = {"serving_default": Signature({"x": spec}, {"y": spec})}

    def predict(self, signature_name, inputs):
        return {"y": inputs["x"] * self.scale}

    def close(self):
        pass


def _load(path, manifest, options):
    return EchoRuntime(float((path / "model.echo").read_text()), options)


SPEC = RuntimeSpec(
    name="echo",
    detect=lambda path: (path / "model.echo").is_file(),
    load=_load,
    platforms=("echo-platform",),
    order=5,
    artifacts=("model.echo",),
)
NOT_A_SPEC = 42
'''


def install_plugin(root: Path, entry_points: str) -> Path:
    """An installed distribution as pip leaves it: a module and its ``.dist-info``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "ms_echo_runtime.py").write_text(PLUGIN_MODULE)
    info = root / "ms_echo_runtime-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ms-echo-runtime\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{entry_points}")
    return root


def echo_version(path: Path, scale: float) -> Path:
    path.mkdir(parents=True)
    (path / "model.echo").write_text(str(scale))
    return path


def _python(code: str, path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(path), *sys.path])},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_unknown_runtime_is_refused_with_the_known_names() -> None:
    with pytest.raises(BadConfig, match="unknown runtime 'openvino'; choose one of") as refused:
        get_runtime("openvino")
    for name in ("onnx", "tensorflow", "torch"):
        assert name in refused.value.message


@pytest.mark.parametrize(
    ("platform", "runtime"),
    [
        ("", None),
        ("tensorflow", "tensorflow"),
        ("onnx", "onnx"),
        ("onnxruntime", "onnx"),
        ("pytorch", "torch"),
        ("torch", "torch"),
    ],
)
def test_model_platform_selects_a_runtime(platform: str, runtime: str | None) -> None:
    assert runtime_for_platform(platform) == runtime


def test_unknown_model_platform_lists_the_known_ones() -> None:
    with pytest.raises(BadConfig, match="unknown model_platform 'caffe'") as refused:
        runtime_for_platform("caffe")
    assert "'onnxruntime'" in refused.value.message
    assert "'pytorch'" in refused.value.message


def test_detection_prefers_onnx_then_tensorflow_then_torch(tmp_path: Path) -> None:
    (tmp_path / "model.pt2").write_bytes(b"")
    assert detect_runtime(tmp_path) == "torch"
    (tmp_path / "saved_model.pb").write_bytes(b"")
    assert detect_runtime(tmp_path) == "tensorflow"
    (tmp_path / "model.onnx").write_bytes(b"")
    assert detect_runtime(tmp_path) == "onnx"


def test_nothing_servable_names_every_artifact_looked_for(tmp_path: Path) -> None:
    with pytest.raises(BadConfig, match="no servable artifact") as refused:
        load_runtime(tmp_path)
    assert "model.onnx, saved_model.pb, model.pt2, model.ts or process.py" in refused.value.message


def test_names_and_platforms_cannot_be_taken_twice() -> None:
    table = RuntimeRegistry(BUILTIN_RUNTIMES)
    onnx = table.get("onnx")
    with pytest.raises(BadConfig, match="named 'onnx' is registered already"):
        table.register(onnx)
    with pytest.raises(BadConfig, match="'pytorch' selects 'torch' already"):
        table.register(RuntimeSpec("mine", onnx.detect, onnx.load, platforms=("pytorch",)))
    assert table.names() == ["onnx", "tensorflow", "torch", "python"]


def test_options_reach_the_runtime(tmp_path: Path) -> None:
    write_version(tmp_path, 1, softmax_linear(784, 10)[0])
    runtime = load_runtime(tmp_path / "1", "onnx", RuntimeOptions(intra_op_threads=3))
    try:
        assert runtime.name == "onnx"
        assert runtime.intra_op_threads == 3  # type: ignore[attr-defined]
    finally:
        runtime.close()


def test_options_refuse_negative_threads_and_freeze_tags() -> None:
    with pytest.raises(BadConfig, match="cannot be negative"):
        RuntimeOptions(intra_op_threads=-1)
    options = RuntimeOptions(tags=["serve", "gpu"])  # type: ignore[arg-type]
    assert options.tags == ("serve", "gpu")
    assert options.device == "auto"  # a GPU when the runtime's framework sees one
    with pytest.raises(BadConfig, match="--device 'gpu0' is not a device"):
        RuntimeOptions(device="gpu0")


def test_reading_the_table_imports_no_framework(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"")
    out = _python(
        f"""
        import sys
        from pathlib import Path
        from modelship.runtimes import detect_runtime, runtime_for_platform
        print(detect_runtime(Path({str(tmp_path)!r})), runtime_for_platform("pytorch"))
        print(sorted(m for m in ("onnxruntime", "tensorflow", "torch") if m in sys.modules))
        """,
        tmp_path,
    )
    assert out.splitlines() == ["onnx torch", "[]"]


def test_an_entry_point_adds_a_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(
        str(install_plugin(tmp_path / "site", "echo = ms_echo_runtime:SPEC"))
    )
    table = RuntimeRegistry(BUILTIN_RUNTIMES, entry_point_group=ENTRY_POINT_GROUP)
    version = echo_version(tmp_path / "echo" / "1", 3.0)
    (version / "model.onnx").write_bytes(b"")  # its order (5) puts it before ONNX
    assert table.names() == ["echo", "onnx", "tensorflow", "torch", "python"]
    assert table.detect(version) == "echo"
    assert table.for_platform("echo-platform") == "echo"
    runtime = table.load(version, options=RuntimeOptions(intra_op_threads=2))
    assert runtime.predict("serving_default", {"x": np.array([1.0, 2.0])})["y"].tolist() == [3, 6]
    assert runtime.options.intra_op_threads == 2  # type: ignore[attr-defined]


def test_a_broken_entry_point_is_named_and_the_others_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    points = "echo = ms_echo_runtime:SPEC\nnumber = ms_echo_runtime:NOT_A_SPEC\n"
    monkeypatch.syspath_prepend(str(install_plugin(tmp_path / "site", points)))
    table = RuntimeRegistry(BUILTIN_RUNTIMES, entry_point_group=ENTRY_POINT_GROUP)
    assert "echo" in table.names()
    with pytest.raises(BadConfig, match="choose one of echo, onnx") as refused:
        table.get("number")
    assert "entry point 'number'" in refused.value.message
    assert "is a int, not a RuntimeSpec" in refused.value.message


def test_an_installed_runtime_serves_through_load_runtime_and_config_files(
    tmp_path: Path,
) -> None:
    site = install_plugin(tmp_path / "site", "echo = ms_echo_runtime:SPEC")
    echo_version(tmp_path / "models" / "echo" / "1", 2.0)
    out = _python(
        f"""
        import numpy as np
        from pathlib import Path
        from modelship.lifecycle.config import parse_model_config
        from modelship.runtimes import load_runtime
        runtime = load_runtime(Path({str(tmp_path / "models" / "echo" / "1")!r}))
        print(runtime.name, runtime.predict("serving_default", {{"x": np.ones(2)}})["y"])
        text = "model_config_list {{ config {{ name: 'e' base_path: '/e' "
        print(parse_model_config(text + "model_platform: 'echo-platform' }} }}")[0].runtime)
        """,
        site,
    )
    assert out.splitlines() == ["echo [2. 2.]", "echo"]
