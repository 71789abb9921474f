"""TensorFlow runtime: serves a SavedModel directory, whoever wrote it.

Signatures come from the SavedModel's own ``signature_def`` map, so metadata answers with every
signature's real names, dtypes, shapes and method. TensorFlow is imported on the first load.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelship.devices import choose_device
from modelship.errors import BadConfig, RuntimeUnavailable
from modelship.manifest import Manifest
from modelship.runtimes.base import Arrays, refused_input
from modelship.runtimes.tensorflow_v1 import SessionRuntime, is_tf1_savedmodel
from modelship.signature import DEFAULT_SIGNATURE, Signature, TensorSpec

__all__ = [
    "INSTALL_HINT",
    "TensorFlowRuntime",
    "import_tensorflow",
    "load_savedmodel",
    "set_threads",
]

INSTALL_HINT = "pip install 'modelship[tensorflow]'"
SERVE_TAG = "serve"

logger = logging.getLogger(__name__)


def import_tensorflow() -> Any:
    """Import TensorFlow with its C++ logging lowered to warnings (unless the user set a level).

    Raises:
        RuntimeUnavailable: TensorFlow is not installed; the message names the extra.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise RuntimeUnavailable(
            f"TensorFlow is not installed, and it is needed to serve or write a SavedModel: "
            f"{INSTALL_HINT} (or export the version with a model.onnx, which the serving "
            f"install runs without TensorFlow); import failed with: {exc}"
        ) from exc
    return tf


def set_threads(tf: Any, threads: int, inter_op_threads: int = 0) -> None:
    """Size TensorFlow's intra-op and inter-op pools (inter-op: one when only ``threads`` is set).

    Each worker gets its share of the cores; 0 keeps TensorFlow's choice. TensorFlow reads these
    once, when its runtime starts in the process (the first SavedModel loaded).
    """
    inter = inter_op_threads or (1 if threads else 0)
    if not (threads or inter):
        return
    threading = tf.config.threading
    if (threads, inter) == (
        threading.get_intra_op_parallelism_threads() if threads else 0,
        threading.get_inter_op_parallelism_threads(),
    ):
        return  # already so (a later load in the same process)
    try:
        if threads:
            threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:  # TensorFlow has already started in this process
        logger.warning(
            "TensorFlow already started in this process with %s intra-op and %s inter-op "
            "threads; %d and %d apply from the next start",
            threading.get_intra_op_parallelism_threads() or "its default",
            threading.get_inter_op_parallelism_threads() or "its default",
            threads,
            inter,
        )
        return
    logger.info(
        "TensorFlow runs ops on %s intra-op and %d inter-op threads",
        threads or "its default",
        inter,
    )


def read_signature_defs(path: Path, tags: Sequence[str] = (SERVE_TAG,)) -> dict[str, Signature]:
    """Every signature of the SavedModel at ``path``, ``serving_default`` first, then by name.

    The meta graph tagged exactly ``tags`` is read; with the default ``serve`` and no such graph,
    the first one.

    Raises:
        BadConfig: not a SavedModel, or (for tags other than ``serve``) no graph with them.
    """
    return _signature_defs(path, _read_savedmodel(path), tags)


def _read_savedmodel(path: Path) -> Any:
    import_tensorflow()
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    try:
        proto.ParseFromString((path / "saved_model.pb").read_bytes())
    except Exception as exc:  # protobuf's DecodeError and friends
        raise BadConfig(f"{path}/saved_model.pb is not a SavedModel: {exc}") from exc
    if not proto.meta_graphs:
        raise BadConfig(f"{path}/saved_model.pb holds no meta graph")
    return proto


def _signature_defs(path: Path, proto: Any, tags: Sequence[str]) -> dict[str, Signature]:
    tf = import_tensorflow()
    graphs = [g for g in proto.meta_graphs if set(g.meta_info_def.tags) == set(tags)]
    if not graphs and set(tags) != {SERVE_TAG}:
        found = [",".join(sorted(g.meta_info_def.tags)) for g in proto.meta_graphs]
        raise BadConfig(
            f"the SavedModel in {path} has no meta graph tagged {','.join(sorted(tags))} "
            f"(--saved_model_tags); it has: {'; '.join(found)}"
        )
    graph = (graphs or list(proto.meta_graphs))[0]
    names = sorted(graph.signature_def, key=lambda n: (n != DEFAULT_SIGNATURE, n))
    # ``__saved_model_init_op`` is TF's initialiser, not something a client can call.
    names = [n for n in names if not n.startswith("__")]
    return {name: _signature(tf, name, graph.signature_def[name]) for name in names}


def _signature(tf: Any, name: str, proto: Any) -> Signature:
    def spec(info: Any) -> TensorSpec:
        dtype = tf.dtypes.as_dtype(info.dtype)
        numpy_name = "object" if dtype == tf.string else np.dtype(dtype.as_numpy_dtype).name
        dims = info.tensor_shape
        if dims.unknown_rank:
            return TensorSpec(dtype=numpy_name, shape=(), unknown_rank=True)
        return TensorSpec(dtype=numpy_name, shape=tuple(int(d.size) for d in dims.dim))

    inputs = {key: spec(proto.inputs[key]) for key in sorted(proto.inputs)}
    outputs = {key: spec(proto.outputs[key]) for key in sorted(proto.outputs)}
    tensor_names = {
        "inputs": {key: proto.inputs[key].name for key in inputs},
        "outputs": {key: proto.outputs[key].name for key in outputs},
    }
    method = proto.method_name or "tensorflow/serving/predict"
    return Signature(inputs, outputs, method, name=name, extra={"tensor_names": tensor_names})


class TensorFlowRuntime:
    """A loaded SavedModel; each of its signatures is one callable concrete function."""

    def __init__(
        self,
        tf: Any,
        loaded: Any,
        signatures: dict[str, Signature],
        device: str = "cpu",
        *,
        place: bool = False,
    ) -> None:
        self.name = "tensorflow"
        self.signatures = signatures
        self.device = device
        self._tf = tf
        self._loaded = loaded
        # Only where TensorFlow sees a GPU does the device scope choose anything.
        self._placement = _tf_device_name(device) if place else None

    def predict(self, signature_name: str, inputs: Arrays) -> Arrays:
        tf = self._tf
        specs = self.signatures[signature_name].inputs
        try:
            tensors = {
                name: tf.convert_to_tensor(
                    value, dtype=tf.string if specs[name].dtype == "object" else specs[name].dtype
                )
                for name, value in inputs.items()
            }
            function = self._loaded.signatures[signature_name]
            if self._placement is None:
                results = function(**tensors)
            else:
                with tf.device(self._placement):
                    results = function(**tensors)
        except (tf.errors.InvalidArgumentError, tf.errors.OutOfRangeError) as exc:
            # An op refusing these values (an id past a lookup table, a failed reshape).
            raise refused_input(exc.message) from exc
        except (TypeError, ValueError) as exc:
            # The concrete function's own shape check, before any op runs.
            raise refused_input(exc) from exc
        return {name: np.asarray(tensor.numpy()) for name, tensor in results.items()}

    def close(self) -> None:
        # The loaded object owns the variables; without references TF frees them.
        del self._loaded
        gc.collect()


def load_savedmodel(
    path: Path,
    manifest: Manifest | None = None,
    threads: int = 0,
    *,
    inter_op_threads: int = 0,
    tags: Sequence[str] = (SERVE_TAG,),
    device: str = "cpu",
) -> TensorFlowRuntime | SessionRuntime:
    """Load the SavedModel in the version directory ``path`` for serving.

    Args:
        path: a directory with ``saved_model.pb`` and ``variables/``.
        manifest: unused: the SavedModel's own ``signature_def`` is authoritative.
        threads: intra-op threads; 0 lets TensorFlow decide (see :func:`set_threads`).
        inter_op_threads: inter-op threads; 0: one when ``threads`` is set, else TF's choice.
        tags: the meta graph to load (TF Serving's ``--saved_model_tags``).
        device: ``auto`` (TensorFlow's first GPU, if it sees one), ``cpu``, ``cuda[:N]``.

    Raises:
        RuntimeUnavailable: TensorFlow is not installed (the message names the extra).
        BadConfig: the directory is not a loadable SavedModel, or ``device`` names a GPU that
            TensorFlow does not see.
    """
    del manifest
    if not (path / "saved_model.pb").is_file():
        raise BadConfig(f"{path} has no saved_model.pb")
    proto = _read_savedmodel(path)
    declared = _signature_defs(path, proto, tags)
    tf = import_tensorflow()
    set_threads(tf, threads, inter_op_threads)  # before the load, which starts TensorFlow
    gpus = tf.config.list_physical_devices("GPU")
    found = f"TensorFlow {tf.__version__} sees {len(gpus)} GPU(s)"
    device = choose_device(device, len(gpus), found)
    if is_tf1_savedmodel(proto):
        # TF Serving's way for every SavedModel: the v1 loader into a session.
        return SessionRuntime(tf, path, declared, tags, threads, inter_op_threads, device)
    try:
        # Variables are created on the device in scope when the SavedModel loads.
        with tf.device(_tf_device_name(device)):
            loaded = tf.saved_model.load(str(path), tags=list(tags))
    except Exception as exc:  # TF raises many types for a broken or foreign directory
        raise BadConfig(f"cannot load the SavedModel in {path}: {exc}") from exc
    callable_names = set(loaded.signatures.keys())
    signatures = {k: v for k, v in declared.items() if k in callable_names}
    if not signatures:
        raise BadConfig(
            f"the SavedModel in {path} has no callable signature; save it with "
            "tf.saved_model.save(obj, path, signatures=...) or Keras' model.export(path)"
        )
    return TensorFlowRuntime(tf, loaded, signatures, device, place=bool(gpus))


def _tf_device_name(device: str) -> str:
    """``cpu`` -> ``/CPU:0``, ``cuda:N`` -> ``/GPU:N``."""
    return "/CPU:0" if device == "cpu" else f"/GPU:{device.partition(':')[2] or 0}"
