"""Which models a server serves, and which of their versions: ``--model_name/--model_base_path``
or TF Serving's ``ModelServerConfig`` text proto (``--model_config_file``), parsed by protobuf's
own parser, so syntax errors carry its line and column."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format

from modelship.errors import BadConfig
from modelship.protos import model_server_config_pb2 as pb
from modelship.runtimes.registry import runtime_for_platform
from modelship.settings import ServeSettings

__all__ = [
    "ModelConfig",
    "RequestLogging",
    "VersionPolicy",
    "config_text",
    "configs_from_message",
    "configs_from_settings",
    "parse_model_config",
    "read_model_config_file",
]

_KINDS = ("latest", "all", "specific")


@dataclass(frozen=True)
class VersionPolicy:
    """One of TF Serving's version policies: ``latest`` (the newest ``num_versions``), ``all``
    or ``specific`` (``versions``)."""

    kind: str = "latest"
    num_versions: int = 1
    versions: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise BadConfig(f"unknown version policy {self.kind!r}; use one of {', '.join(_KINDS)}")
        if self.kind == "latest" and self.num_versions < 1:
            raise BadConfig(f"latest {{num_versions: {self.num_versions}}} must serve at least 1")
        if self.kind == "specific" and not self.versions:
            raise BadConfig("specific {} names no version: add versions: N")

    def select(self, candidates: Iterable[int]) -> set[int]:
        """The versions to serve among ``candidates`` (versions on disk that may load)."""
        ordered = sorted(set(candidates))
        if self.kind == "all":
            return set(ordered)
        if self.kind == "specific":
            return set(ordered) & set(self.versions)
        return set(ordered[-self.num_versions :])


@dataclass(frozen=True)
class RequestLogging:
    """TF Serving's ``logging_config`` of a model: log this share of its requests (and their
    responses) as ``PredictionLog`` records to TFRecord files named ``filename_prefix``..."""

    filename_prefix: str
    sampling_rate: float


@dataclass(frozen=True)
class ModelConfig:
    """One model to serve: its ``name`` in request paths, the ``base_path`` holding its
    numbered versions (and ``labels.json``), the ``runtime`` that loads them (``None``: detected
    from the files), the version ``policy``, and ``labels`` (label -> version; ``labels.json``
    adds to these)."""

    name: str
    base_path: Path
    runtime: str | None = None
    policy: VersionPolicy = field(default_factory=VersionPolicy)
    labels: dict[str, int] = field(default_factory=dict)
    logging: RequestLogging | None = None


def configs_from_settings(settings: ServeSettings) -> list[ModelConfig]:
    """The models the settings name: the config file's list, or the one ``--model_name``."""
    if settings.model_config_file is not None:
        return read_model_config_file(settings.model_config_file)
    return [ModelConfig(name=settings.model_name, base_path=settings.resolved_base_path())]


def read_model_config_file(path: Path) -> list[ModelConfig]:
    """Parse ``path``; relative base paths are taken from the file's directory.

    Raises:
        BadConfig: unreadable file, syntax error, or a config that cannot be served.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise BadConfig(f"cannot read --model_config_file {path}: {exc.strerror}") from exc
    return parse_model_config(text, origin=str(path), root=path.parent)


def parse_model_config(
    text: str, origin: str = "<config>", root: Path | None = None
) -> list[ModelConfig]:
    """Parse a ``ModelServerConfig`` text proto (``origin`` names it in errors)."""
    message = pb.ModelServerConfig()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        raise BadConfig(f"{origin}: {exc}") from exc
    try:
        return configs_from_message(message, origin, root)
    except BadConfig as exc:
        line = _line_of_bad_rate(text) if "sampling_rate" in exc.message else None
        if line is None:
            raise
        raise BadConfig(exc.message.replace(f"{origin}:", f"{origin}:{line}:", 1)) from exc


def configs_from_message(
    message: pb.ModelServerConfig, origin: str = "ReloadConfigRequest", root: Path | None = None
) -> list[ModelConfig]:
    """The model configs of a parsed ``ModelServerConfig`` (a file's or a reload request's).

    Only ``model_config_list`` is read, field by field, so ``tensorflow.serving``'s message of
    the same schema reads the same. ``origin`` names the message in errors; relative base paths
    are taken from ``root``.

    Raises:
        BadConfig: a config without a name or base path, twice the same name, an unknown
            platform or an invalid version policy.
    """
    configs: list[ModelConfig] = []
    seen: set[str] = set()
    for item in message.model_config_list.config:
        where = f"{origin}: model {item.name or '(unnamed)'}"
        if not item.name:
            raise BadConfig(f"{origin}: a config has no name")
        if item.name in seen:
            raise BadConfig(f"{where} is configured twice")
        seen.add(item.name)
        if not item.base_path:
            raise BadConfig(f"{where} has no base_path")
        try:
            # The runtime table says which runtime a platform selects; "" lets the files decide.
            runtime = runtime_for_platform(item.model_platform)
            policy = _policy(item.model_version_policy)
        except BadConfig as exc:
            raise BadConfig(f"{where}: {exc.message}") from exc
        base_path = Path(item.base_path).expanduser()
        if not base_path.is_absolute() and root is not None:
            base_path = root / base_path
        logging = _logging(item.logging_config, where) if item.HasField("logging_config") else None
        configs.append(
            ModelConfig(item.name, base_path, runtime, policy, dict(item.version_labels), logging)
        )
    return configs


def _logging(message: pb.LoggingConfig, where: str) -> RequestLogging:
    rate = message.sampling_config.sampling_rate
    if not 0.0 <= rate <= 1.0:  # NaN fails too
        raise BadConfig(
            f"{where}: logging_config sampling_rate {rate:g} is outside [0, 1] "
            "(the share of requests to log)"
        )
    prefix = message.log_collector_config.filename_prefix
    if not prefix:
        raise BadConfig(
            f"{where}: logging_config needs log_collector_config {{ filename_prefix: ... }}"
        )
    return RequestLogging(prefix, rate)


def _line_of_bad_rate(text: str) -> int | None:
    """The 1-based line of the first ``sampling_rate`` outside [0, 1] in a text proto."""
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.search(r"\bsampling_rate\s*:?\s*([^\s}#]+)", line)
        if match is None:
            continue
        try:
            rate = float(match.group(1))
        except ValueError:
            continue
        if not 0.0 <= rate <= 1.0:
            return number
    return None


def config_text(configs: list[ModelConfig]) -> str:
    """``configs`` as the text proto :func:`parse_model_config` reads back into equal configs."""
    message = pb.ModelServerConfig()
    for c in configs:
        # A runtime's name is a platform that selects it.
        item = message.model_config_list.config.add(
            name=c.name, base_path=str(c.base_path), model_platform=c.runtime or ""
        )
        item.version_labels.update(c.labels)
        if c.logging is not None:
            item.logging_config.log_collector_config.filename_prefix = c.logging.filename_prefix
            item.logging_config.sampling_config.sampling_rate = c.logging.sampling_rate
        if c.policy.kind == "all":
            item.model_version_policy.all.SetInParent()
        elif c.policy.kind == "specific":
            item.model_version_policy.specific.versions.extend(c.policy.versions)
        else:
            item.model_version_policy.latest.num_versions = c.policy.num_versions
    return str(text_format.MessageToString(message))


def _policy(message: pb.ServableVersionPolicy) -> VersionPolicy:
    choice = message.WhichOneof("policy_choice")
    if choice == "specific":
        return VersionPolicy("specific", versions=tuple(message.specific.versions))
    if choice == "latest":
        return VersionPolicy("latest", num_versions=message.latest.num_versions or 1)
    return VersionPolicy("all") if choice == "all" else VersionPolicy()
