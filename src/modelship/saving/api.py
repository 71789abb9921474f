"""``modelship.save`` and ``modelship.publish``: a user's own model becomes a served version.

One call writes a new version directory atomically (:func:`modelship.export.write_version`) with
the model's artifacts and a ``modelship.json`` (signature, labels, preprocessing, metrics,
parameters, data fingerprint, code and framework versions, and how each artifact was checked).
Each artifact is loaded, before the version is published, with the runtime that will serve it;
its outputs on the example inputs are compared with the original model's. A required artifact
that fails stops the publish (nothing is left behind); an optional conversion (``model.onnx``
of a Keras model or a SavedModel) that fails is left out, with a warning.
"""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelship.data.fingerprint import fingerprint
from modelship.errors import BadConfig
from modelship.export import code_version, write_version
from modelship.manifest import Manifest
from modelship.saving.dispatch import plan_for
from modelship.saving.plan import ExportPlan
from modelship.saving.verify import DEFAULT_ATOL, DEFAULT_RTOL, Check, verify_artifact

__all__ = ["PROCESS_NAME", "ExportWarning", "SaveResult", "plan_for", "publish", "save"]

PROCESS_NAME = "process.py"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

logger = logging.getLogger("modelship.saving")


class ExportWarning(UserWarning):
    """An optional artifact was left out of a version (the version is published without it)."""


@dataclass
class SaveResult:
    """What :func:`save` published.

    Attributes:
        path: the version directory, ``<repository>/<name>/<version>``.
        version: its integer version.
        manifest: the ``modelship.json`` written there.
        checks: per artifact checked, how its outputs compared with the original model's.
        warnings: artifacts left out, and why.
    """

    path: Path
    version: int
    manifest: Manifest
    checks: dict[str, Check] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def max_abs_error(self) -> float:
        """The largest difference from the original model over every published artifact."""
        return max((c.max_abs_error for c in self.checks.values() if c.passed), default=0.0)

    @property
    def tolerance(self) -> dict[str, float]:
        """The tolerance the artifacts were held to and the largest difference found."""
        first = next(iter(self.checks.values()), None)
        return {
            "rtol": first.rtol if first else DEFAULT_RTOL,
            "atol": first.atol if first else DEFAULT_ATOL,
            "max_abs_error": self.max_abs_error,
        }

    def __repr__(self) -> str:
        served = ", ".join(
            f"{k} ({c.runtime}, max |diff| {c.max_abs_error:.2g})"
            for k, c in self.checks.items()
            if c.passed
        )
        return f"SaveResult(version {self.version} at {self.path}: {served})"


def _data_record(data: Any) -> dict[str, Any]:
    """``data=`` as the manifest's ``data``: arrays are fingerprinted; other values kept."""
    if data is None:
        return {}
    items = (
        dict(data)
        if isinstance(data, Mapping)
        else {
            f"array_{i}": a
            for i, a in enumerate(data if isinstance(data, list | tuple) else [data])
        }
    )
    arrays = {
        k: np.asarray(v)
        for k, v in items.items()
        if isinstance(v, np.ndarray | list | tuple) or hasattr(v, "__array__")
    }
    record: dict[str, Any] = {k: v for k, v in items.items() if k not in arrays}
    if arrays:
        record["fingerprint"] = fingerprint(*arrays.values())
        record["arrays"] = {
            k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in arrays.items()
        }
    return record


def _repository(path: str | Path, name: str | None) -> tuple[Path, str]:
    base = Path(path)
    model_name = name or base.name
    if not _NAME.match(model_name):
        raise BadConfig(
            f"model name {model_name!r} must start with a letter or digit and hold only letters, "
            "digits, '_', '.' and '-'"
        )
    return (base if name is None else base / name), model_name


def publish_plan(
    plan: ExportPlan,
    path: str | Path,
    *,
    name: str | None = None,
    version: int | None = None,
    labels: Sequence[Any] | None = None,
    preprocessing: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    data: Any = None,
    process: str | Path | None = None,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> SaveResult:
    """Write ``plan``'s artifacts as a new version of ``path`` (``models/<name>``), checking each
    before the version is published; see :func:`save`."""
    base, model_name = _repository(path, name)
    process_file = Path(process) if process is not None else None
    if process_file is not None and not process_file.is_file():
        raise BadConfig(f"process={process_file}: no such file")
    manifest = Manifest(
        name=model_name,
        framework=plan.framework,
        signatures={plan.signature.name: plan.signature},
        labels=[str(label) for label in labels or []],
        metrics=dict(metrics or {}),
        parameters={**plan.parameters, **dict(parameters or {})},
        data=_data_record(data),
        preprocessing=dict(preprocessing or {}),
        code_version=code_version(),
        framework_versions=dict(plan.framework_versions),
    )
    checks: dict[str, Check] = {}
    left_out: list[str] = list(plan.warnings)

    def write_artifacts(directory: Path) -> dict[str, str]:
        written: dict[str, str] = {}
        for artifact in plan.artifacts:
            try:
                with _quiet_converters():
                    artifact.write(directory)
            except Exception as exc:  # exporters raise anything for a model they cannot take
                if artifact.required:
                    raise BadConfig(f"cannot write {artifact.name}: {_first_line(exc)}") from exc
                _remove(directory, artifact.paths)
                left_out.append(f"{artifact.name} left out: cannot write it: {_first_line(exc)}")
                continue
            if artifact.runtime:
                check = _check(
                    directory, artifact.name, artifact.runtime, manifest, plan, rtol, atol
                )
                if not check.passed:
                    if artifact.required:
                        raise BadConfig(
                            f"{artifact.name} failed its check, nothing was published: "
                            f"{check.error}"
                        )
                    _remove(directory, artifact.paths)
                    left_out.append(f"{artifact.name} left out: {check.error}")
                    continue
                checks[artifact.name] = check
            written[artifact.role] = artifact.name
        if process_file is not None:
            shutil.copyfile(process_file, directory / PROCESS_NAME)
            manifest.extra["process"] = PROCESS_NAME
        manifest.extra["verification"] = {
            "examples": int(_rows(plan.example_inputs)),
            "artifacts": {k: c.to_json() for k, c in checks.items()},
            "left_out": list(left_out),
        }
        return written

    published, written_manifest = write_version(base, manifest, write_artifacts, version=version)
    for message in left_out:
        logger.warning("%s: %s", published, message)
        warnings.warn(message, ExportWarning, stacklevel=3)
    return SaveResult(published, written_manifest.version, written_manifest, checks, left_out)


def _check(
    directory: Path,
    artifact: str,
    runtime: str,
    manifest: Manifest,
    plan: ExportPlan,
    rtol: float,
    atol: float,
) -> Check:
    # Each runtime loads only its own files (model.onnx, saved_model.pb, model.pt2), so the
    # artifacts written before this one do not change what is checked.
    return verify_artifact(
        directory,
        artifact,
        runtime,
        manifest,
        plan.example_inputs,
        plan.original_outputs,
        rtol=rtol,
        atol=atol,
    )


@contextlib.contextmanager
def _quiet_converters() -> Iterator[None]:
    """Silence the converters' own loggers (tf2onnx logs a traceback for every node it cannot
    convert, TensorFlow its deprecations): what failed is reported once, by the check."""
    loggers = [logging.getLogger(n) for n in ("tf2onnx", "tensorflow", "absl", "torch.onnx")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _rows(arrays: Mapping[str, Any]) -> int:
    for value in arrays.values():
        return int(np.asarray(value).shape[0]) if np.ndim(value) else 1
    return 0


def _remove(directory: Path, paths: Sequence[str]) -> None:
    for relative in paths:
        target = directory / relative
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        elif target.exists():
            target.unlink()


def _first_line(exc: BaseException) -> str:
    lines = str(getattr(exc, "message", "") or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def save(
    model: Any,
    path: str | Path,
    example_inputs: Any = None,
    *,
    name: str | None = None,
    version: int | None = None,
    signature_name: str | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
    labels: Sequence[Any] | None = None,
    preprocessing: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    parameters: Mapping[str, Any] | None = None,
    data: Any = None,
    process: str | Path | None = None,
    dynamic_batch: bool = True,
    formats: Sequence[str] | None = None,
    onnx: bool = True,
    expected_outputs: Mapping[str, Any] | None = None,
    rtol: float = DEFAULT_RTOL,
    atol: float = DEFAULT_ATOL,
) -> SaveResult:
    """Publish ``model`` as a new version of ``path`` (e.g. ``"models/my_model"``).

    Args:
        model: a ``torch.nn.Module`` (also TorchScript, or a ``torch.export`` program), a
            ``keras.Model``, an ``onnx.ModelProto``, or the path of an ONNX file, a SavedModel
            directory, or a ``.pt``/``.pt2``/``.ts``/``.keras``/``.h5`` file.
        path: the model's directory in the repository; its last part is the model name.
        example_inputs: inputs the model takes (a tensor or array, a sequence of them in the
            model's order, or a dict input name -> array). Required for PyTorch modules; for
            others, made up from the signature when left out. The exports are checked on them.
        name: the model name, when ``path`` is the repository rather than the model's folder.
        version: the version number; default the current unix time.
        signature_name: the signature's name (``serving_default``); TF Serving's tutorial
            calls it ``predict_images``.
        input_names: names of a PyTorch model's inputs (default: ``forward``'s parameters).
        output_names: names of a PyTorch model's outputs (default: a dict's keys, else
            ``output_0``...).
        labels: class names, index-aligned with the model's class axis (``classify`` and
            ``top_k`` answer with them).
        preprocessing: what the server does to raw inputs (e.g. an image spec).
        metrics: evaluation results to record.
        parameters: training parameters to record.
        data: the training data (arrays, or a dict name -> array, plus any other facts); its
            fingerprint is recorded.
        process: a Python file with ``preprocess(inputs)`` and/or ``postprocess(outputs)``,
            copied into the version as ``process.py`` and run by the server on every request.
        dynamic_batch: export PyTorch models for any batch size (default), or only the
            example's.
        formats: for PyTorch, which of ``pt2`` and ``onnx`` to write (default both).
        onnx: also write ``model.onnx`` (converted, then checked; left out with a warning when
            the conversion fails).
        expected_outputs: for an ONNX model, the outputs it should give on ``example_inputs``.
        rtol: relative tolerance of the check.
        atol: absolute tolerance of the check.

    Returns:
        The published version, with each artifact's check (largest differences, tolerance).

    Raises:
        BadConfig: the model cannot be exported, or a required artifact failed its check
            (nothing is published).
        AlreadyExists: ``version`` is taken.
    """
    _repository(path, name)  # a bad name fails before minutes of export
    plan = plan_for(
        model,
        example_inputs,
        signature_name=signature_name,
        input_names=input_names,
        output_names=output_names,
        dynamic_batch=dynamic_batch,
        formats=formats,
        onnx=onnx,
        expected_outputs=expected_outputs,
    )
    return publish_plan(
        plan,
        path,
        name=name,
        version=version,
        labels=labels,
        preprocessing=preprocessing,
        metrics=metrics,
        parameters=parameters,
        data=data,
        process=process,
        rtol=rtol,
        atol=atol,
    )


def publish(
    artifact: str | Path, path: str | Path, example_inputs: Any = None, **options: Any
) -> SaveResult:
    """Publish an existing artifact (an ONNX file, a SavedModel directory, a ``.pt2``,
    TorchScript, ``.pt``, ``.keras`` or ``.h5`` file) as a new version of ``path``, checked
    like :func:`save` (which takes the same options)."""
    source = Path(artifact)
    if not source.exists():
        raise BadConfig(f"{source} does not exist")
    return save(source, path, example_inputs, **options)
