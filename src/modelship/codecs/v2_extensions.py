"""The Open Inference Protocol's extensions as Triton's clients call them, protocol-neutral
data encoded to REST JSON or gRPC messages: model configuration, statistics and the model
repository index."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from modelship.codecs import dtypes
from modelship.codecs.metadata import ModelMetadata
from modelship.protos import v2_grpc_service_pb2 as pb
from modelship.signature import TensorSpec

__all__ = [
    "Duration",
    "IndexEntry",
    "VersionStatistics",
    "config_json",
    "config_response",
    "index_json",
    "index_response",
    "statistics_json",
    "statistics_response",
]


class Duration(Protocol):
    """How many calls, and their total time in nanoseconds."""

    @property
    def count(self) -> int: ...
    @property
    def ns(self) -> int: ...


class VersionStatistics(Protocol):
    """One model version's statistics (kept by the server's metrics)."""

    @property
    def success(self) -> Duration: ...
    @property
    def fail(self) -> Duration: ...
    @property
    def queue(self) -> Duration: ...
    @property
    def compute_input(self) -> Duration: ...
    @property
    def compute_infer(self) -> Duration: ...
    @property
    def compute_output(self) -> Duration: ...
    @property
    def last_inference(self) -> int: ...
    @property
    def inference_count(self) -> int: ...
    @property
    def execution_count(self) -> int: ...
    @property
    def batches(self) -> Mapping[int, Duration]: ...


_TIMED = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output")
# modelship has no response cache.
_UNTIMED = ("cache_hit", "cache_miss")


def _data_type(spec: TensorSpec) -> str:
    datatype = dtypes.v2_datatype(spec.dtype)
    return "TYPE_STRING" if datatype == "BYTES" else f"TYPE_{datatype}"


def _format(spec: TensorSpec) -> str:
    # Triton's image clients read the channel layout of a [batch, h, w, c] or [batch, c, h, w]
    # image input.
    if len(spec.shape) == 4 and spec.shape[3] in (1, 3, 4):
        return "FORMAT_NHWC"
    if len(spec.shape) == 4 and spec.shape[1] in (1, 3, 4):
        return "FORMAT_NCHW"
    return "FORMAT_NONE"


def _batched(metadata: ModelMetadata) -> bool:
    signature = metadata.signature
    specs = [*signature.inputs.values(), *signature.outputs.values()]
    return bool(specs) and all(spec.shape and spec.shape[0] == -1 for spec in specs)


def config_json(metadata: ModelMetadata, max_batch_size: int) -> dict[str, Any]:
    """The model configuration (``GET /v2/models/{m}/config``): when every tensor has a
    variable first dimension it is the batch, left out of ``dims`` and bounded by
    ``max_batch_size``; otherwise ``max_batch_size`` is 0 and ``dims`` are whole shapes."""
    batched = _batched(metadata)

    def dims(spec: TensorSpec) -> list[int]:
        return list(spec.shape[1:] if batched else spec.shape)

    return {
        "name": metadata.name,
        "platform": metadata.platform,
        "backend": metadata.platform,
        "max_batch_size": max_batch_size if batched else 0,
        "input": [
            {"name": k, "data_type": _data_type(v), "format": _format(v), "dims": dims(v)}
            for k, v in metadata.signature.inputs.items()
        ],
        "output": [
            {"name": k, "data_type": _data_type(v), "dims": dims(v)}
            for k, v in metadata.signature.outputs.items()
        ],
    }


def config_response(metadata: ModelMetadata, max_batch_size: int) -> pb.ModelConfigResponse:
    """The gRPC ``ModelConfigResponse`` with the same content as :func:`config_json`."""
    data = config_json(metadata, max_batch_size)
    config = pb.ModelConfig(
        name=data["name"],
        platform=data["platform"],
        backend=data["backend"],
        max_batch_size=data["max_batch_size"],
    )
    for tensor in data["input"]:
        config.input.add(
            name=tensor["name"],
            data_type=pb.DataType.Value(tensor["data_type"]),
            format=pb.ModelInput.Format.Value(tensor["format"]),
            dims=tensor["dims"],
        )
    for tensor in data["output"]:
        config.output.add(
            name=tensor["name"],
            data_type=pb.DataType.Value(tensor["data_type"]),
            dims=tensor["dims"],
        )
    return pb.ModelConfigResponse(config=config)


def _duration(duration: Duration | None = None) -> dict[str, int]:
    return {"count": duration.count, "ns": duration.ns} if duration else {"count": 0, "ns": 0}


def statistics_json(
    models: Iterable[tuple[str, Mapping[int, VersionStatistics]]],
) -> dict[str, Any]:
    """``GET /v2/models[/{m}[/versions/{v}]]/stats``: one entry per model version.
    ``inference_count`` counts rows, ``execution_count`` runtime calls (a batch merged from
    several requests counts once), ``batch_stats`` the calls per batch size."""
    stats = []
    for name, versions in models:
        for version, record in sorted(versions.items()):
            inference = {key: _duration(getattr(record, key)) for key in _TIMED}
            inference.update({key: _duration() for key in _UNTIMED})
            batches = [
                {
                    "batch_size": size,
                    "compute_input": _duration(),
                    "compute_infer": _duration(duration),
                    "compute_output": _duration(),
                }
                for size, duration in sorted(record.batches.items())
            ]
            stats.append(
                {
                    "name": name,
                    "version": str(version),
                    "last_inference": record.last_inference,
                    "inference_count": record.inference_count,
                    "execution_count": record.execution_count,
                    "inference_stats": inference,
                    "batch_stats": batches,
                }
            )
    return {"model_stats": stats}


def statistics_response(
    models: Iterable[tuple[str, Mapping[int, VersionStatistics]]],
) -> pb.ModelStatisticsResponse:
    """The gRPC ``ModelStatisticsResponse`` with the same content as :func:`statistics_json`."""
    response = pb.ModelStatisticsResponse()
    for entry in statistics_json(models)["model_stats"]:
        stats = response.model_stats.add(
            name=entry["name"],
            version=entry["version"],
            last_inference=entry["last_inference"],
            inference_count=entry["inference_count"],
            execution_count=entry["execution_count"],
        )
        for key, duration in entry["inference_stats"].items():
            getattr(stats.inference_stats, key).CopyFrom(pb.StatisticDuration(**duration))
        for batch in entry["batch_stats"]:
            added = stats.batch_stats.add(batch_size=batch["batch_size"])
            for key in ("compute_input", "compute_infer", "compute_output"):
                getattr(added, key).CopyFrom(pb.StatisticDuration(**batch[key]))
    return response


@dataclass(frozen=True)
class IndexEntry:
    """One model version in the repository index, in Triton's states (``READY``,
    ``LOADING``, ``UNLOADING``, ``UNAVAILABLE``) with the reason when it does not serve."""

    name: str
    version: str
    state: str
    reason: str = ""


def index_json(entries: Iterable[IndexEntry]) -> list[dict[str, str]]:
    """``POST /v2/repository/index``: a JSON list of the models and their versions."""
    answer = []
    for entry in entries:
        item = {"name": entry.name, "version": entry.version, "state": entry.state}
        if entry.reason:
            item["reason"] = entry.reason
        answer.append(item)
    return answer


def index_response(entries: Iterable[IndexEntry]) -> pb.RepositoryIndexResponse:
    """The gRPC ``RepositoryIndexResponse``."""
    response = pb.RepositoryIndexResponse()
    for entry in entries:
        response.models.add(
            name=entry.name, version=entry.version, state=entry.state, reason=entry.reason
        )
    return response
