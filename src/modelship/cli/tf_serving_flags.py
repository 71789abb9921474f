"""TF Serving's flags that ``modelship serve`` accepts without acting on them, or refuses.

``modelship serve`` implements TF Serving's flags that mean something here (see ``serve``'s
options). The others are listed below, so a command line written for ``tensorflow_model_server``
or the tensorflow/serving image starts modelship unchanged:

- *ignored* flags tune something modelship does not have (TPUs, TFLite, GPU memory, TF
  sessions...). Each one given is named in one warning line at start-up with the reason,
  unless its value asks for what modelship does anyway (``--prefer_tflite_model=false``).
- *refused* flags would leave the user believing something that is not true if they were
  ignored (``--use_alts_credentials``: the clients expect an encrypted channel), so the server
  does not start.

Values use TF Serving's syntax: ``--flag=value`` (also ``--flag value``); booleans ``--flag``,
``--flag=true`` or ``--flag=false``.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelship.errors import BadConfig

__all__ = ["IGNORED", "REFUSED", "CompatFlag", "read_compat_flags"]

_TRUE, _FALSE = frozenset({"true", "1", "yes"}), frozenset({"false", "0", "no"})


@dataclass(frozen=True)
class CompatFlag:
    """One TF Serving flag modelship does not implement.

    Attributes:
        reason: why it is ignored, or what to do instead (for a refused flag).
        boolean: the flag is a boolean (``--flag`` alone means true).
        fine: values for which modelship already behaves as asked: no warning, no refusal.
    """

    reason: str
    boolean: bool = False
    fine: frozenset[str] = frozenset()


def _off(reason: str) -> CompatFlag:
    """A boolean flag that is fine when false."""
    return CompatFlag(reason, boolean=True, fine=_FALSE)


_NO_TF_SESSIONS = "modelship runs SavedModels through TensorFlow's Python API, not TF sessions"
_NO_TFLITE = "modelship serves model.onnx, saved_model.pb or a torch export, never model.tflite"

IGNORED: dict[str, CompatFlag] = {
    "rest_api_num_threads": CompatFlag(
        "REST requests are answered by one event loop per worker process; "
        "size the server with --workers"
    ),
    "enable_per_model_batching_parameters": _off(
        "one --batching_parameters_file applies to every model"
    ),
    "num_load_threads": CompatFlag(
        "versions load in a background thread, never on a request's path", fine=frozenset({"0"})
    ),
    "num_unload_threads": CompatFlag(
        "versions unload in a background thread, never on a request's path",
        fine=frozenset({"0"}),
    ),
    "max_num_load_retries": CompatFlag(
        "a version that fails to load is reported (END with its error) and loaded again when "
        "its files change",
        fine=frozenset({"0"}),
    ),
    "load_retry_interval_micros": CompatFlag(
        "a version that fails to load is loaded again when its files change"
    ),
    "flush_filesystem_caches": CompatFlag(
        "unloaded versions release their memory; the page cache is left to the kernel",
        boolean=True,
    ),
    "tensorflow_session_config_file": CompatFlag(
        f"{_NO_TF_SESSIONS}; threads are set with --tensorflow_intra_op_parallelism and "
        "--tensorflow_inter_op_parallelism",
        fine=frozenset({""}),
    ),
    "platform_config_file": CompatFlag(
        "the runtime is chosen by what each version directory holds (model.onnx, "
        "saved_model.pb, model.pt2)",
        fine=frozenset({""}),
    ),
    "per_process_gpu_memory_fraction": CompatFlag(
        "GPU memory is left to the runtime (onnxruntime-gpu in the GPU image); the other "
        "images use no GPU",
        fine=frozenset({"0", "0.0"}),
    ),
    "remove_unused_fields_from_bundle_metagraph": CompatFlag(
        "modelship keeps only the signatures of a SavedModel, not its meta graph", boolean=True
    ),
    "prefer_tflite_model": _off(_NO_TFLITE),
    "num_tflite_pools": CompatFlag(_NO_TFLITE),
    "num_tflite_interpreters_per_pool": CompatFlag(_NO_TFLITE),
    "enable_signature_method_name_check": _off(
        "classify and regress work on any signature whose outputs fit, whatever its method_name"
    ),
    "xla_cpu_compilation_enabled": _off(
        "functions saved with jit_compile run as TensorFlow runs them"
    ),
    "xla_gpu_compilation_enabled": _off(
        "functions saved with jit_compile run as TensorFlow runs them"
    ),
    "enable_profiler": _off("modelship has no TensorFlow profiler service"),
    "thread_pool_factory_config_file": CompatFlag(_NO_TF_SESSIONS, fine=frozenset({""})),
    "mixed_precision": CompatFlag(
        "models run in the precision they were exported with", fine=frozenset({""})
    ),
    "skip_initialize_tpu": _off("modelship has no TPU support, so no TPU to initialize"),
    "enable_serialization_as_tensor_content": _off(
        "gRPC answers carry each tensor in the typed field of its dtype, which every client "
        "reads as well"
    ),
}

REFUSED: dict[str, CompatFlag] = {
    "use_alts_credentials": _off(
        "ALTS (Google's own transport security) is not available in modelship, and serving in "
        "plain text what the clients expect encrypted is not a safe fallback: use "
        "--ssl_config_file for TLS instead"
    ),
}


def _value(flag: CompatFlag, name: str, inline: str | None, rest: list[str]) -> str:
    """The flag's value: after ``=``, else (for a non-boolean, or a boolean's true/false) the
    next argument."""
    if inline is not None:
        return inline.strip()
    if flag.boolean:
        if rest and rest[0].lower() in _TRUE | _FALSE:
            return rest.pop(0)
        return "true"
    if not rest or rest[0].startswith("--"):
        raise BadConfig(f"--{name} needs a value: --{name}=VALUE")
    return rest.pop(0)


def read_compat_flags(args: list[str]) -> list[str]:
    """Check the arguments ``serve``'s own options left over; returns the warning lines.

    Args:
        args: what the option parser did not recognise, in order.

    Raises:
        BadConfig: a refused flag (the message says what to do instead), a flag nobody knows,
            or a stray argument.
    """
    warnings: list[str] = []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("--"):
            raise BadConfig(f"unexpected argument {arg!r}; flags take the form --flag=value")
        name, sep, inline = arg[2:].partition("=")
        name = name.replace("-", "_")
        flag = IGNORED.get(name) or REFUSED.get(name)
        if flag is None:
            raise BadConfig(f"no such option: --{name}; see modelship serve --help")
        value = _value(flag, name, inline if sep else None, rest)
        if flag.boolean and value.lower() not in _TRUE | _FALSE:
            raise BadConfig(f"--{name} takes true or false, got {value!r}")
        # A boolean's "fine" set holds every spelling of true (or of false).
        if (value.lower() if flag.boolean else value) in flag.fine:
            continue
        if name in REFUSED:
            raise BadConfig(f"--{name} is not supported: {flag.reason}")
        warnings.append(
            f"--{name} is accepted for TF Serving compatibility and ignored: {flag.reason}"
        )
    return warnings
