"""The names a trained version is served under: its signature, input and output. The recipes
train and export with :data:`~modelship.training.recipe.INPUT_NAME` and
:data:`~modelship.training.recipe.OUTPUT_NAME` under ``serving_default``; other names (say TF
Serving's MNIST example's ``predict_images``, ``images``, ``scores``, which its client asks for)
are given to the exported artifacts and the manifest afterwards."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelship.errors import BadConfig
from modelship.signature import DEFAULT_SIGNATURE, Signature
from modelship.training.recipe import INPUT_NAME, OUTPUT_NAME

__all__ = ["ServingNames"]

# What TensorFlow accepts as a tensor name, and a signature key without spaces or control
# characters (TF Serving's own keys include slashes: tensorflow/serving/predict).
_TENSOR = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,127}")
_SIGNATURE = re.compile(r"[A-Za-z_][A-Za-z0-9_./\-]{0,127}")


@dataclass(frozen=True)
class ServingNames:
    """Signature, input and output names of an exported version."""

    signature: str = DEFAULT_SIGNATURE
    input: str = INPUT_NAME
    output: str = OUTPUT_NAME

    def __post_init__(self) -> None:
        if not _SIGNATURE.fullmatch(self.signature):
            raise BadConfig(
                f"signature name {self.signature!r}: use letters, digits, _ . / - "
                "(starting with a letter or _), at most 128"
            )
        for role, name in (("input", self.input), ("output", self.output)):
            if not _TENSOR.fullmatch(name):
                raise BadConfig(
                    f"{role} name {name!r}: use letters, digits, _ . - (starting with a "
                    "letter), at most 128"
                )
        if self.input == self.output:
            raise BadConfig(f"the input and the output are both named {self.input!r}")

    @property
    def default(self) -> bool:
        return self == ServingNames()

    def signatures(self, signature: Signature) -> dict[str, Signature]:
        """The manifest's signature map for a recipe's one-input, one-output signature."""
        (input_spec,) = signature.inputs.values()
        (output_spec,) = signature.outputs.values()
        renamed = Signature(
            inputs={self.input: input_spec},
            outputs={self.output: output_spec},
            method_name=signature.method_name,
            name=self.signature,
        )
        return {self.signature: renamed}

    def export_with(
        self, export: Callable[[Path], dict[str, str]]
    ) -> Callable[[Path], dict[str, str]]:
        """``export``, followed by renaming what it wrote (ONNX graph, SavedModel)."""
        if self.default:
            return export

        def export_named(directory: Path) -> dict[str, str]:
            artifacts = export(directory)
            if "onnx" in artifacts:
                self._rename_onnx(directory / artifacts["onnx"])
            if "savedmodel" in artifacts:
                self._rename_savedmodel(directory)
            return artifacts

        return export_named

    def _rename_onnx(self, path: Path) -> None:
        import onnx

        model = onnx.load(str(path))
        renames = {INPUT_NAME: self.input, OUTPUT_NAME: self.output}
        graph = model.graph
        for value in [*graph.input, *graph.output, *graph.value_info]:
            value.name = renames.get(value.name, value.name)
        for node in graph.node:
            node.input[:] = [renames.get(n, n) for n in node.input]
            node.output[:] = [renames.get(n, n) for n in node.output]
        onnx.save(model, str(path))

    def _rename_savedmodel(self, directory: Path) -> None:
        # A SavedModel's signature keys are its functions' own argument and output names:
        # wrap the exported function under the new names and save the model again.
        from modelship.runtimes.tensorflow import import_tensorflow

        tf = import_tensorflow()
        loaded = tf.saved_model.load(str(directory))
        function = loaded.signatures[DEFAULT_SIGNATURE]
        ((key, spec),) = function.structured_input_signature[1].items()

        def serve(tensor: Any) -> dict[str, Any]:
            return {self.output: function(**{key: tensor})[OUTPUT_NAME]}

        wrapped = tf.function(
            serve, input_signature=[tf.TensorSpec(spec.shape, spec.dtype, name=self.input)]
        )
        staging = directory / ".renamed"
        tf.saved_model.save(loaded, str(staging), signatures={self.signature: wrapped})
        for item in staging.iterdir():
            target = directory / item.name
            if target.is_dir():
                shutil.rmtree(target)
            item.replace(target)
        staging.rmdir()
