"""The loader: loads one version directory and warms it up (TF Serving's ``Loader``). It knows
nothing of states: it returns a ready runtime or raises, and the manager decides the rest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelship.errors import FailedPrecondition
from modelship.lifecycle.warmup import run_warmup
from modelship.manifest import MANIFEST_NAME, Manifest
from modelship.registry import ServedVersion
from modelship.runtimes import Runtime, RuntimeOptions, load_runtime
from modelship.settings import ServeSettings
from modelship.signature import Signature, TensorSpec

__all__ = ["Loaded", "Loader", "require_same_signature"]


@dataclass(frozen=True)
class Loaded:
    """A loaded, warm version: its runtime and the manifest it was exported with."""

    runtime: Runtime
    manifest: Manifest | None


@dataclass(frozen=True)
class Loader:
    """How versions load: intra-op ``threads`` (0: the runtime's default), and for TensorFlow
    ``inter_op_threads`` and the SavedModel ``tags``; with ``warmup``, warm-up requests run
    before the version serves, each of TF Serving's ``warmup_iterations`` times. ``device`` is
    where runtimes compute (``auto``: a GPU when the runtime's framework sees one)."""

    threads: int = 0
    inter_op_threads: int = 0
    tags: Sequence[str] = ("serve",)
    warmup: bool = False
    warmup_iterations: int = 1
    device: str = "auto"

    @classmethod
    def from_settings(cls, settings: ServeSettings) -> Loader:
        """The loader the server's flags ask for."""
        return cls(
            threads=settings.intra_op_threads,
            inter_op_threads=settings.inter_op_threads,
            tags=tuple(settings.meta_graph_tags()),
            warmup=settings.enable_model_warmup,
            warmup_iterations=settings.num_request_iterations_for_warmup,
            device=settings.device,
        )

    def load(
        self,
        served: ServedVersion,
        runtime: str | None = None,
        previous: ServedVersion | None = None,
    ) -> Loaded:
        """Load ``served``'s directory with ``runtime`` (detected when ``None``) and warm it up;
        ``served`` itself is not changed. ``previous``, the version serving now, gives the
        signature the new one must keep.

        Raises:
            ModelshipError: the artifact, the signature or a warm-up request is wrong.
            Exception: a broken artifact can make a runtime raise anything.
        """
        path = served.path
        manifest = Manifest.read(path) if (path / MANIFEST_NAME).is_file() else None
        options = RuntimeOptions(
            self.threads, self.inter_op_threads, tuple(self.tags), device=self.device
        )
        loaded = load_runtime(path, runtime, options)
        try:
            require_same_signature(previous, served.version, loaded)
            if self.warmup:
                run_warmup(path, manifest, loaded, iterations=self.warmup_iterations)
        except BaseException:
            loaded.close()  # refused: give its memory back now
            raise
        return Loaded(loaded, manifest)


def require_same_signature(previous: ServedVersion | None, version: int, runtime: Runtime) -> None:
    """Refuse ``runtime`` (version ``version``) if its tensors differ from ``previous``'s:
    clients are written against the serving version's signature.

    Raises:
        FailedPrecondition: the signatures differ; the message shows both.
    """
    served = previous.runtime if previous is not None else None
    if previous is None or served is None:
        return
    before, after = served.signatures, runtime.signatures
    if _tensors(before) != _tensors(after):
        raise FailedPrecondition(
            f"the signature of version {version} differs from the serving "
            f"version {previous.version}'s ({_describe(after)} vs {_describe(before)}); "
            "clients would break: publish it under a new model name, or restart the "
            "server to accept the change"
        )


def _tensors(signatures: dict[str, Signature]) -> dict[str, object]:
    return {name: (s.inputs, s.outputs) for name, s in signatures.items()}


def _describe(signatures: dict[str, Signature]) -> str:
    def tensors(specs: dict[str, TensorSpec]) -> str:
        return ", ".join(f"{k} {v.dtype}{list(v.shape)}" for k, v in specs.items())

    return "; ".join(
        f"{name}: ({tensors(s.inputs)}) -> ({tensors(s.outputs)})" for name, s in signatures.items()
    )
