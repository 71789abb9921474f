"""The serving side of the Open Inference Protocol's extensions that Triton's clients call:
model configuration, statistics and the model repository (index, load, unload), mapped onto
modelship's registry, metrics and lifecycle. Protocol-neutral; the REST and gRPC adapters
encode the answers (:mod:`modelship.codecs.v2_extensions`)."""

from __future__ import annotations

from google.protobuf import json_format

from modelship.codecs.metadata import ModelMetadata
from modelship.codecs.v2_extensions import IndexEntry
from modelship.errors import BadConfig, InvalidInput, ModelNotFound, Unimplemented
from modelship.lifecycle.config import ModelConfig, configs_from_message, configs_from_settings
from modelship.protos import model_server_config_pb2
from modelship.registry import AVAILABLE, END, UNLOADING
from modelship.serving.batcher import BatchingExecutor
from modelship.serving.dataplane import DataPlane
from modelship.serving.inference import ModelSpec
from modelship.serving.statistics import VersionStatistics

__all__ = ["V2_EXTENSIONS", "ModelRepository", "model_config", "model_statistics"]

# What ``/v2`` and ServerMetadata list.
V2_EXTENSIONS = [
    "binary_tensor_data",
    "classification",
    "model_configuration",
    "model_repository",
    "statistics",
]

# Triton's max_batch_size is an int32; without a batcher modelship takes any batch.
_ANY_BATCH = 2**31 - 1
# Triton's states for modelship's (TF Serving's) version states.
_TRITON_STATE = {AVAILABLE: "READY", UNLOADING: "UNLOADING", END: "UNAVAILABLE"}
_MAX_NAME = 255


def model_config(dataplane: DataPlane, spec: ModelSpec) -> tuple[ModelMetadata, int]:
    """The metadata of the addressed version and the largest batch one request may carry."""
    executor = dataplane.executor
    limit = executor.params.max_batch_size if isinstance(executor, BatchingExecutor) else 0
    return dataplane.model_metadata(spec), limit or _ANY_BATCH


def model_statistics(
    dataplane: DataPlane, name: str, version: int | None
) -> list[tuple[str, dict[int, VersionStatistics]]]:
    """Per model, per version, the statistics this process kept (every model when ``name`` is
    empty); a version that answered nothing yet is listed with zero counts."""
    if version is not None and not name:
        raise InvalidInput("statistics of a version need the model's name too")
    statistics = dataplane.metrics.statistics
    entries = [dataplane.registry.model(name)] if name else dataplane.registry.models()
    answer = []
    for entry in entries:
        recorded = statistics.of(entry.name)
        versions = {v: recorded.get(v) or VersionStatistics() for v in entry.versions}
        versions.update(recorded)
        if version is not None:
            if version not in versions:
                dataplane.resolve(ModelSpec(entry.name, version))  # raises the right error
            versions = {version: versions[version]}
        answer.append((entry.name, versions))
    return answer


class ModelRepository:
    """Triton's model repository extension over modelship's lifecycle: the index lists every
    model version and its state; load and unload change the served model list as a config
    reload does (on every worker process)."""

    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane

    def index(self, ready_only: bool = False) -> list[IndexEntry]:
        """Every version the registry knows, and each model the server was started with that
        is unloaded now (version empty, ``UNAVAILABLE``)."""
        entries = []
        registry = self.dataplane.registry
        for entry in sorted(registry.models(), key=lambda e: e.name):
            for served in sorted(list(entry.versions.values()), key=lambda s: s.version):
                state = _TRITON_STATE.get(served.state, "LOADING")
                if state == "READY" and not served.available:
                    state = "UNAVAILABLE"
                if ready_only and state != "READY":
                    continue
                entries.append(
                    IndexEntry(entry.name, str(served.version), state, served.error_message)
                )
        if not ready_only:
            served_names = {e.name for e in registry.models()}
            for config in self._startup_configs():
                if config.name not in served_names:
                    entries.append(IndexEntry(config.name, "", "UNAVAILABLE", "unloaded"))
        return entries

    async def load(self, name: str, config_json: str | None = None) -> None:
        """Serve ``name``: a model the server serves already (its versions are looked at
        again), one it was started with, or a new one whose TF Serving ``ModelConfig`` fields
        ``config_json`` gives (``{"base_path": "...", "model_platform": "onnx"}``). Returns
        once the model has an AVAILABLE version."""
        _check_name(name)
        configs = self._current_configs()
        added = _parse_load_config(name, config_json) if config_json else None
        if added is None:
            known = {c.name: c for c in [*self._startup_configs(), *configs]}
            if name not in known:
                raise ModelNotFound(
                    f"Servable not found for request: Latest({name}); give its config to load it",
                    f"Request for unknown model: '{name}' is not found; load it with a "
                    '"config" parameter such as {"base_path": "/models/' + name + '"}',
                )
            added = known[name]
        configs = [c for c in configs if c.name != name] + [added]
        await self.dataplane.reload_config(configs)
        self.dataplane.resolve(ModelSpec(name))  # no AVAILABLE version: the load failed, why

    async def unload(self, name: str) -> None:
        """Stop serving ``name`` (its versions unload once their requests are answered)."""
        _check_name(name)
        configs = self._current_configs()
        if name not in {c.name for c in configs}:
            self.dataplane.registry.model(name)  # raises the unknown-model error
        await self.dataplane.reload_config([c for c in configs if c.name != name])

    def _lifecycle_configs(self) -> tuple[list[ModelConfig], list[ModelConfig]]:
        lifecycle = self.dataplane.lifecycle
        if lifecycle is None:
            raise Unimplemented("this server cannot load or unload models")
        return list(lifecycle.source.configs), configs_from_settings(lifecycle.settings)

    def _current_configs(self) -> list[ModelConfig]:
        return self._lifecycle_configs()[0]

    def _startup_configs(self) -> list[ModelConfig]:
        if self.dataplane.lifecycle is None:
            return []
        try:
            return self._lifecycle_configs()[1]
        except BadConfig:  # the config file changed into something unreadable since
            return []


def _check_name(name: str) -> None:
    if not name:
        raise InvalidInput("the model name is required")
    if len(name) > _MAX_NAME:
        raise InvalidInput(f"model names are at most {_MAX_NAME} characters; got {len(name)}")


def _parse_load_config(name: str, text: str) -> ModelConfig:
    message = model_server_config_pb2.ModelServerConfig()
    item = message.model_config_list.config.add()
    try:
        json_format.Parse(text, item)
    except json_format.ParseError as exc:
        raise BadConfig(
            f'the load parameter "config" must be a JSON object of TF Serving\'s ModelConfig '
            f'fields, such as {{"base_path": "/models/{name}", "model_platform": "onnx"}}: {exc}'
        ) from None
    if item.name and item.name != name:
        raise BadConfig(f"the config names model {item.name!r}, the request {name!r}")
    item.name = name
    (config,) = configs_from_message(message, origin="the load request's config")
    if not config.base_path.is_dir():
        raise BadConfig(f"base_path {str(config.base_path)!r} is not a directory on the server")
    return config
