"""The two ONNX models every server in the benchmark serves, in a model repository layout.

The MNIST MLP is the demo's model (784 -> 128 ReLU -> 10 softmax); a trained version from
``models/mnist`` is used when one exists, otherwise an equivalent graph with random weights.
The CNN is a small image classifier on 224x224x3 NHWC input, big enough that the request
payload and the convolutions, not the HTTP stack, dominate.
"""

from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = [
    "CNN_CLASSES",
    "ModelInfo",
    "build_cnn",
    "build_mlp",
    "describe",
    "describe_cnn_as_image_model",
    "prepare",
]

OPSET = 17
IR_VERSION = 8  # readable by every onnxruntime the peers pin
CNN_CLASSES = 5


@dataclass(frozen=True)
class ModelInfo:
    """What a load generator needs to know about a served model."""

    name: str
    path: Path
    input_name: str
    input_shape: tuple[int, ...]  # one instance, without the batch dimension
    output_name: str


def _init(name: str, array: np.ndarray) -> TensorProto:
    return numpy_helper.from_array(array.astype(np.float32), name)


def _save(graph: onnx.GraphProto, path: Path) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def build_mlp(path: Path, seed: int = 0) -> None:
    """Write the demo's MNIST MLP with random weights: ``images`` [-1, 784] -> ``probabilities``."""
    rng = np.random.default_rng(seed)
    inits = [
        _init("w1", rng.normal(0, 0.05, (784, 128))),
        _init("b1", np.zeros(128)),
        _init("w2", rng.normal(0, 0.1, (128, 10))),
        _init("b2", np.zeros(10)),
    ]
    nodes = [
        helper.make_node("Gemm", ["images", "w1", "b1"], ["h"]),
        helper.make_node("Relu", ["h"], ["a"]),
        helper.make_node("Gemm", ["a", "w2", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "mnist_mlp",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 784])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    _save(graph, path)


def build_cnn(path: Path, seed: int = 0, classes: int = CNN_CLASSES) -> None:
    """Write a small CNN: ``images`` [-1, 224, 224, 3] (NHWC) -> ``probabilities`` [-1, classes].

    Three conv+relu+maxpool stages (8, 16, 32 channels), global average pooling and a dense
    softmax layer, with random weights.
    """
    rng = np.random.default_rng(seed)
    inits: list[TensorProto] = []
    nodes = [helper.make_node("Transpose", ["images"], ["x0"], perm=[0, 3, 1, 2])]
    channels = [3, 8, 16, 32]
    for i, (cin, cout) in enumerate(itertools.pairwise(channels)):
        fan_in = cin * 9
        inits += [
            _init(f"k{i}", rng.normal(0, (2 / fan_in) ** 0.5, (cout, cin, 3, 3))),
            _init(f"c{i}", np.zeros(cout)),
        ]
        stride = 2 if i == 0 else 1  # the first stage halves 224 to keep the model small
        nodes += [
            helper.make_node(
                "Conv",
                [f"x{i}", f"k{i}", f"c{i}"],
                [f"conv{i}"],
                pads=[1, 1, 1, 1],
                strides=[stride, stride],
            ),
            helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"]),
            helper.make_node(
                "MaxPool", [f"relu{i}"], [f"x{i + 1}"], kernel_shape=[2, 2], strides=[2, 2]
            ),
        ]
    last = f"x{len(channels) - 1}"
    inits += [
        _init("wd", rng.normal(0, 0.1, (channels[-1], classes))),
        _init("bd", np.zeros(classes)),
    ]
    nodes += [
        helper.make_node("GlobalAveragePool", [last], ["gap"]),
        helper.make_node("Flatten", ["gap"], ["flat"]),
        helper.make_node("Gemm", ["flat", "wd", "bd"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "small_cnn",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 224, 224, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", classes])],
        inits,
    )
    _save(graph, path)


def describe_cnn_as_image_model(version: Path, classes: int = CNN_CLASSES) -> Path:
    """Write the CNN's ``modelship.json``: class names and the image preprocessing.

    With it modelship decodes ``{"b64": ...}`` JPEGs itself (RGB, 224x224, scaled to [0, 1],
    as the raw reference server does), so the b64 rows compare the same work.
    """
    from modelship.data.images import ImagePreprocessing
    from modelship.manifest import Manifest
    from modelship.signature import PREDICT_METHOD, Signature, TensorSpec

    spec = ImagePreprocessing(size=(224, 224))
    manifest = Manifest(
        name="cnn",
        framework="onnx",
        artifacts={"onnx": "model.onnx"},
        signatures={
            "serving_default": Signature(
                inputs={"images": TensorSpec("float32", (-1, *spec.input_shape))},
                outputs={"probabilities": TensorSpec("float32", (-1, classes))},
                method_name=PREDICT_METHOD,
            )
        },
        labels=[f"class_{i}" for i in range(classes)],
        preprocessing=spec.to_json(),
        version=int(version.name),
    )
    return manifest.write(version)


def describe_mlp_with_training_stats(version: Path, info: ModelInfo, classes: int = 10) -> Path:
    """Write the MLP's ``modelship.json`` with training statistics of inputs like the
    benchmark's (uniform in [0, 1]), so drift monitoring does its full work on every sample."""
    from modelship.data.fingerprint import input_stats
    from modelship.manifest import Manifest
    from modelship.signature import PREDICT_METHOD, Signature, TensorSpec

    labels = [str(i) for i in range(classes)]
    rng = np.random.default_rng(0)
    x = rng.random((2000, *info.input_shape), dtype=np.float32)
    y = rng.integers(0, classes, len(x))
    stats = input_stats(x, y, labels)
    stats["predicted_class_counts"] = stats["class_counts"]
    manifest = Manifest(
        name=info.name,
        framework="onnx",
        artifacts={"onnx": "model.onnx"},
        signatures={
            "serving_default": Signature(
                inputs={info.input_name: TensorSpec("float32", (-1, *info.input_shape))},
                outputs={info.output_name: TensorSpec("float32", (-1, classes))},
                method_name=PREDICT_METHOD,
            )
        },
        labels=labels,
        data={"stats": stats},
        version=int(version.name),
    )
    return manifest.write(version)


def describe(name: str, path: Path) -> ModelInfo:
    """Read the first input's name and per-instance shape and the first output's name."""
    graph = onnx.load(str(path), load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}
    first = next(i for i in graph.input if i.name not in initializers)
    dims = first.type.tensor_type.shape.dim[1:]
    shape = tuple(d.dim_value if d.dim_value > 0 else -1 for d in dims)
    return ModelInfo(name, path, first.name, shape, graph.output[0].name)


def _trained_mlp(repo_root: Path) -> Path | None:
    base = repo_root / "models" / "mnist"
    if not base.is_dir():
        return None
    versions = sorted(
        (int(p.name) for p in base.iterdir() if p.name.isdigit() and (p / "model.onnx").is_file()),
    )
    return base / str(versions[-1]) / "model.onnx" if versions else None


def prepare(work: Path, repo_root: Path) -> dict[str, ModelInfo]:
    """Build (once) ``work/models/{mnist,cnn}/1/model.onnx`` and describe both models."""
    models = work / "models"
    mnist = models / "mnist" / "1" / "model.onnx"
    cnn = models / "cnn" / "1" / "model.onnx"
    trained = _trained_mlp(repo_root)
    if trained is not None:
        mnist.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(trained, mnist)
    elif not mnist.exists():
        build_mlp(mnist)
    if not cnn.exists():
        build_cnn(cnn)
    if not (cnn.parent / "modelship.json").exists():
        describe_cnn_as_image_model(cnn.parent)
    info = describe("mnist", mnist)
    if not (mnist.parent / "modelship.json").exists():
        describe_mlp_with_training_stats(mnist.parent, info)
    return {"mnist": info, "cnn": describe("cnn", cnn)}
