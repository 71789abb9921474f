"""TensorFlow 1 SavedModels (graphs written with ``tf.compat.v1``: ``ParseExample``, lookup
tables, ``tf.compat.v1`` signatures), loaded as TF Serving loads every SavedModel: the v1
loader into a session, each signature run by feeding and fetching its tensors by name.

``tf.saved_model.load`` cannot run some of these graphs (``ParseExample`` on an input of
unknown rank fails its shape check); a session can.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelship.errors import BadConfig
from modelship.runtimes.base import Arrays, refused_input
from modelship.signature import Signature

__all__ = ["SessionRuntime", "is_tf1_savedmodel"]


def is_tf1_savedmodel(proto: Any) -> bool:
    """Whether a parsed ``SavedModel`` was written by TF1's builder: its meta graphs carry no
    object graph (the functions and variables ``tf.saved_model.load`` restores)."""
    return all(not graph.object_graph_def.nodes for graph in proto.meta_graphs)


class SessionRuntime:
    """A TF1 SavedModel loaded into its own graph and session."""

    def __init__(
        self,
        tf: Any,
        path: Path,
        signatures: dict[str, Signature],
        tags: Sequence[str],
        threads: int = 0,
        inter_op_threads: int = 0,
        device: str = "cpu",
    ) -> None:
        self.name = "tensorflow"
        self.signatures = signatures
        self.device = device
        self._invalid = tf.errors.InvalidArgumentError
        self._out_of_range = tf.errors.OutOfRangeError
        self._graph = tf.Graph()
        config = tf.compat.v1.ConfigProto(
            intra_op_parallelism_threads=threads,
            inter_op_parallelism_threads=inter_op_threads or (1 if threads else 0),
            allow_soft_placement=True,
        )
        if device == "cpu":
            config.device_count["GPU"] = 0
        self._session = tf.compat.v1.Session(graph=self._graph, config=config)
        try:
            with self._graph.as_default():
                tf.compat.v1.saved_model.loader.load(self._session, list(tags), str(path))
        except Exception as exc:  # TF raises many types for a broken graph
            self._session.close()
            raise BadConfig(
                f"cannot load the SavedModel in {path} (a TF1 graph, into a session): {exc}"
            ) from exc
        # Fetch lists per signature, resolved once.
        self._fetches: dict[str, tuple[list[str], list[Any]]] = {}
        for name, signature in signatures.items():
            names = signature.extra["tensor_names"]["outputs"]
            keys = list(signature.outputs)
            self._fetches[name] = (keys, [self._graph.get_tensor_by_name(names[k]) for k in keys])
        self._closed = threading.Event()

    def predict(self, signature_name: str, inputs: Arrays) -> Arrays:
        signature = self.signatures[signature_name]
        names = signature.extra["tensor_names"]["inputs"]
        feed = {names[key]: value for key, value in inputs.items()}
        keys, fetches = self._fetches[signature_name]
        try:
            values = self._session.run(fetches, feed_dict=feed)
        except (self._invalid, self._out_of_range) as exc:
            # The graph checks what the signature leaves open (a tensor of unknown rank, the
            # features a serialized example must hold): the client's input, a 400.
            raise refused_input(f"signature {signature_name!r}: {exc.message}") from exc
        except ValueError as exc:  # a feed whose shape the graph's tensor cannot take
            raise refused_input(f"signature {signature_name!r}: {exc}") from exc
        return {key: np.asarray(value) for key, value in zip(keys, values, strict=True)}

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._session.close()
