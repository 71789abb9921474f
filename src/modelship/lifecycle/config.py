"""Which models a server serves: from ``--model_name/--model_base_path`` or a config file.

``--model_config_file`` takes TF Serving's ``ModelServerConfig`` in protobuf text format::

    model_config_list {
      config {
        name: "mnist"
        base_path: "/models/mnist"
        model_platform: "tensorflow"
        model_version_policy { latest { num_versions: 2 } }
        version_labels { key: "stable" value: 1 }
      }
    }

It is parsed by protobuf's own text format parser against ``serving/config``'s schema, so its
syntax errors carry protobuf's line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf import text_format

from modelship.errors import BadConfig
from modelship.lifecycle.policy import VersionPolicy
from modelship.protos import model_server_config_pb2 as pb
from modelship.runtimes.registry import runtime_for_platform
from modelship.settings import ServeSettings

__all__ = [
    "ModelConfig",
    "configs_from_message",
    "configs_from_settings",
    "parse_model_config",
    "read_model_config_file",
]


@dataclass(frozen=True)
class ModelConfig:
    """One model to serve.

    Attributes:
        name: the model name in request paths.
        base_path: the directory holding its numbered versions (and ``labels.json``).
        runtime: runtime to load versions with; ``None`` detects it from the files.
        policy: which versions to serve.
        labels: label -> version from the config file; ``labels.json`` adds to these.
    """

    name: str
    base_path: Path
    runtime: str | None = None
    policy: VersionPolicy = field(default_factory=VersionPolicy)
    labels: dict[str, int] = field(default_factory=dict)


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
    """Parse a ``ModelServerConfig`` text proto into model configs.

    Args:
        text: the config in protobuf text format.
        origin: where it came from, for error messages.
        root: directory that relative ``base_path`` values are relative to.
    """
    message = pb.ModelServerConfig()
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        raise BadConfig(f"{origin}: {exc}") from exc
    return configs_from_message(message, origin, root)


def configs_from_message(
    message: pb.ModelServerConfig, origin: str = "ReloadConfigRequest", root: Path | None = None
) -> list[ModelConfig]:
    """The model configs of a parsed ``ModelServerConfig`` (a file's or a reload request's).

    Only ``model_config_list`` is read, field by field; a message of another schema with the
    same field names (``tensorflow.serving.ModelServerConfig``) reads the same.

    Args:
        message: the config.
        origin: where it came from, for error messages.
        root: directory that relative ``base_path`` values are relative to.

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
        except BadConfig as exc:
            raise BadConfig(f"{where}: {exc.message}") from exc
        base_path = Path(item.base_path).expanduser()
        if not base_path.is_absolute() and root is not None:
            base_path = root / base_path
        configs.append(
            ModelConfig(
                name=item.name,
                base_path=base_path,
                runtime=runtime,
                policy=_policy(item.model_version_policy, where),
                labels=dict(item.version_labels),
            )
        )
    return configs


def _policy(message: pb.ServableVersionPolicy, where: str) -> VersionPolicy:
    choice = message.WhichOneof("policy_choice")
    try:
        if choice == "all":
            return VersionPolicy("all")
        if choice == "specific":
            return VersionPolicy("specific", versions=tuple(message.specific.versions))
        if choice == "latest":
            return VersionPolicy("latest", num_versions=message.latest.num_versions or 1)
    except BadConfig as exc:
        raise BadConfig(f"{where}: {exc.message}") from exc
    return VersionPolicy()
