"""ONNX Runtime: the serving install's default runtime, for models of either framework.

On a GPU it runs with ``CUDAExecutionProvider`` (the ``onnxruntime-gpu`` package); asked for a
GPU without that provider, it serves on the CPU and says so once per process.
"""

from __future__ import annotations

import functools
import logging
import re
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from modelship.devices import parse_device
from modelship.errors import BadConfig
from modelship.manifest import Manifest
from modelship.runtimes.base import Arrays, refused_input
from modelship.signature import DEFAULT_SIGNATURE, PREDICT_METHOD, Signature, TensorSpec

__all__ = [
    "SHRINK_AFTER_BYTES",
    "SMALL_MODEL_SECONDS",
    "OnnxRuntime",
    "auto_threads",
    "onnx_spec",
    "probe_inputs",
    "providers_for",
]

logger = logging.getLogger(__name__)
CUDA_PROVIDER = "CUDAExecutionProvider"
# Providers that compute on a GPU: left out on --device cpu.
_GPU_PROVIDERS = {CUDA_PROVIDER, "TensorrtExecutionProvider", "ROCMExecutionProvider"}
_fallback_warned = False

# A model whose one-example run takes less than this gets one intra-op thread when the thread
# count is left to the runtime: splitting so short a run over a pool costs more than it saves,
# and stalls the event loop that runs such models inline (benchmarks/results/PROFILE.md, 5).
SMALL_MODEL_SECONDS = 0.0005

_ORT_ERRORS = ort.capi.onnxruntime_pybind11_state
_ORT_INVALID = _ORT_ERRORS.InvalidArgument
_ORT_FAILED = (_ORT_ERRORS.Fail, _ORT_ERRORS.RuntimeException)
_ORT_PREFIX = re.compile(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ")

# Input bytes of a run after which the CPU arena releases its unused memory: 4,000 rows of
# 784 floats. A 65,536-row batch through a 512-wide layer otherwise pins 139 MiB for good.
SHRINK_AFTER_BYTES = 16 * 1024 * 1024
_SHRINK_ARENA = ort.RunOptions()
_SHRINK_ARENA.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

# ONNX Runtime's type strings -> numpy dtype names
_ORT_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(string)": "object"}
_ORT_TYPES |= {f"tensor({t})": t for t in ["float16", "bool", "int8", "int16", "int32", "int64"]}
_ORT_TYPES |= {f"tensor({t})": t for t in ["uint8", "uint16", "uint32", "uint64"]}


def onnx_spec(arg: Any) -> TensorSpec:
    """The tensor spec of an onnxruntime input or output (unknown dimensions are -1)."""
    shape = tuple(d if isinstance(d, int) and d >= 0 else -1 for d in arg.shape)
    return TensorSpec(dtype=_ORT_TYPES.get(arg.type, "float32"), shape=shape)


class OnnxRuntime:
    """One ONNX model behind a single signature (``serving_default`` unless the manifest names
    its signature otherwise).

    The graph's own input and output names are the signature's tensor names; the manifest,
    when present, only contributes the signature's name and method name.
    """

    def __init__(
        self, path: Path, manifest: Manifest | None = None, threads: int = 0, device: str = "cpu"
    ) -> None:
        providers, self.device = providers_for(device, ort.get_available_providers())
        self._session = _open(path, threads, providers)
        if self.device != "cpu" and CUDA_PROVIDER not in self._session.get_providers():
            # onnxruntime falls back by itself when the CUDA libraries fail to load.
            _warn_fallback(f"onnxruntime could not start {CUDA_PROVIDER} for {path}")
            providers, self.device = providers_for("cpu", ort.get_available_providers())
        if not threads and self.device == "cpu":
            # Left to the runtime: small models run faster, and steadier, on one thread.
            feeds = probe_inputs(self._session)
            if feeds is not None and auto_threads(_one_example_seconds(self._session, feeds)):
                self._session = _open(path, 1, providers)
        self.name = "onnx"
        inputs = {arg.name: onnx_spec(arg) for arg in self._session.get_inputs()}
        outputs = {arg.name: onnx_spec(arg) for arg in self._session.get_outputs()}
        method, name = PREDICT_METHOD, DEFAULT_SIGNATURE
        if manifest is not None and manifest.signatures:
            # The manifest names the signature (e.g. TF Serving's tutorial's predict_images).
            method, name = manifest.default_signature.method_name, manifest.default_signature.name
        self.signatures = {name: Signature(inputs, outputs, method_name=method, name=name)}
        self._output_names = list(outputs)
        self._run = _direct_run(self._session)

    def predict(self, signature_name: str, inputs: Arrays) -> Arrays:
        size = 0
        for array in inputs.values():
            size += array.nbytes
        # A large batch grows the CPU arena by its activations, which the arena would keep
        # for good; after such a run it hands back what it no longer uses. Small runs keep
        # the arena as it is: shrinking after each costs a third more time per call.
        options = _SHRINK_ARENA if size > SHRINK_AFTER_BYTES else None
        try:
            results = self._run(self._output_names, inputs, options)
        except _ORT_INVALID as exc:
            raise refused_input(_ORT_PREFIX.sub("", str(exc))) from exc
        except _ORT_FAILED as exc:
            # A node failing on these values (a Reshape that does not fit) is the input's
            # doing; a failed allocation or anything else stays a server error.
            text = str(exc)
            if "while running" not in text or "alloc" in text.lower():
                raise
            raise refused_input(_ORT_PREFIX.sub("", text)) from exc
        return dict(zip(self._output_names, map(np.asarray, results), strict=True))

    @property
    def intra_op_threads(self) -> int:
        """The session's intra-op thread count (0: onnxruntime's default, one per core)."""
        return int(self._session.get_session_options().intra_op_num_threads)

    def close(self) -> None:
        # Dropping the only reference frees the session's arena; nothing else holds it.
        del self._session


def providers_for(device: str, available: list[str]) -> tuple[list[Any], str]:
    """The execution providers for ``device`` given onnxruntime's ``available`` ones, and the
    device they compute on (``cpu`` or ``cuda:N``).

    ``auto`` takes the CUDA provider when there is one; ``cuda[:N]`` without it falls back to
    the CPU with one warning per process (the GPU image has it; a CPU install does not).
    """
    request = parse_device(device)
    on_cpu = [p for p in available if p not in _GPU_PROVIDERS]
    if request.kind == "cpu" or (request.kind == "auto" and CUDA_PROVIDER not in available):
        return on_cpu, "cpu"
    if CUDA_PROVIDER not in available:
        _warn_fallback(
            f"--device {request}: onnxruntime {ort.__version__} has no {CUDA_PROVIDER} "
            f"(only {', '.join(available)}); install onnxruntime-gpu to use the GPU"
        )
        return on_cpu, "cpu"
    _preload_cuda_libraries()
    index = request.index or 0
    return [(CUDA_PROVIDER, {"device_id": index}), *on_cpu], f"cuda:{index}"


@functools.cache
def _preload_cuda_libraries() -> None:
    """Load CUDA and cuDNN from the nvidia-* wheels (onnxruntime-gpu's [cuda,cudnn] extras), as
    the GPU image installs them; without those wheels the system's libraries are used."""
    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    try:
        preload()
    except Exception as exc:  # a partial CUDA install: the session then says what is missing
        logger.warning("onnxruntime could not preload the CUDA libraries: %s", exc)


def _warn_fallback(reason: str) -> None:
    global _fallback_warned
    if not _fallback_warned:
        _fallback_warned = True
        logger.warning("%s; ONNX models run on the CPU", reason)


def _open(path: Path, threads: int, providers: list[Any]) -> Any:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle intra-op threads spin by default; on a server they steal the cores that the
    # event loop and the other workers need (benchmarks/results/PROFILE.md, suggestion 1).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own opaque exception types
        raise BadConfig(f"cannot load {path}: {exc}") from exc


# Providers that leave every node of a local graph to the CPU one.
_CPU_ONLY_PROVIDERS = ("CPUExecutionProvider", "AzureExecutionProvider")


def _direct_run(session: Any) -> Any:
    """The session's native ``run`` on a CPU-only session, else the wrapper's ``run``.

    The Python wrapper checks the feed's names (which :func:`conform_inputs` has done already)
    and graph-capture options on every call, 15 % of a small model's run; what it adds beyond
    that, a retry on other execution providers, matters only when there are others.
    """
    native = getattr(session, "_sess", None)
    providers = session.get_providers()
    # The Azure provider, listed in the PyPI build's sessions, runs no node of a local graph.
    if native is None or not set(providers) <= set(_CPU_ONLY_PROVIDERS):
        return session.run
    return native.run


def auto_threads(one_example_seconds: float) -> bool:
    """Whether a model this fast should run on one intra-op thread (see SMALL_MODEL_SECONDS)."""
    return one_example_seconds < SMALL_MODEL_SECONDS


def probe_inputs(session: Any) -> dict[str, np.ndarray[Any, Any]] | None:
    """One example of zeros per input; None if a type or a non-batch dimension is unknown,
    or for string inputs."""
    feeds = {}
    for arg in session.get_inputs():
        spec = onnx_spec(arg)
        if arg.type not in _ORT_TYPES or spec.dtype == "object":
            return None
        dims = list(spec.shape)
        if dims and dims[0] < 0:
            dims[0] = 1
        if any(d < 0 for d in dims):
            return None
        feeds[arg.name] = np.zeros(dims, dtype=spec.dtype)
    return feeds


def _one_example_seconds(session: Any, feeds: dict[str, np.ndarray[Any, Any]]) -> float:
    """The median of five timed runs after an untimed one (one, for a model clearly not small);
    inf if the model refuses ``feeds``."""
    times: list[float] = []
    try:
        session.run(None, feeds)
        while len(times) < 5 and (not times or times[0] < 10 * SMALL_MODEL_SECONDS):
            started = time.perf_counter()
            session.run(None, feeds)
            times.append(time.perf_counter() - started)
    except Exception:  # zeros a model refuses (e.g. index inputs): keep the default threads
        return float("inf")
    return statistics.median(times)
