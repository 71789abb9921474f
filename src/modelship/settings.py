"""One validated settings object for the server: command-line flag > environment > default.

Flags and environment variables keep TensorFlow Serving's names where the meaning is the same
(``MODEL_NAME``, ``MODEL_BASE_PATH``, ``--rest_api_port``...), so a container or a script written
for TF Serving configures modelship unchanged. modelship's own knobs read ``MODELSHIP_*``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from modelship.repository import list_versions

__all__ = ["ServeSettings"]


class ServeSettings(BaseSettings):
    """Everything ``modelship serve`` can be told."""

    model_config = SettingsConfigDict(
        env_prefix="MODELSHIP_", extra="ignore", populate_by_name=True
    )

    model_name: str = Field(
        default="default", validation_alias=AliasChoices("model_name", "MODEL_NAME")
    )
    # ``--model_base_path`` is the model's own directory (as TF Serving's flag); the environment
    # variable MODEL_BASE_PATH is the parent of the model directories (as TF Serving's image).
    model_base_path: Path | None = None
    models_root: Path = Field(
        default=Path("/models"), validation_alias=AliasChoices("models_root", "MODEL_BASE_PATH")
    )
    model_config_file: Path | None = None
    rest_api_port: int = Field(default=8501, ge=0, le=65535)
    rest_api_host: str = "0.0.0.0"
    port: int = Field(default=8500, ge=0, le=65535, description="gRPC port; 0 disables gRPC")
    grpc_host: str = "0.0.0.0"
    workers: int = Field(default=0, ge=0, description="worker processes; 0: one per core")
    intra_op_threads: int = Field(default=0, ge=0)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Largest b64 image accepted by image models, width x height (checked before decoding).
    max_image_pixels: int = Field(default=40_000_000, ge=1)
    file_system_poll_wait_seconds: float = Field(default=1.0, ge=0)
    model_config_file_poll_wait_seconds: float = Field(default=0.0, ge=0)
    enable_batching: bool = False
    batching_parameters_file: Path | None = None
    allow_version_labels_for_unavailable_models: bool = False
    log_level: str = "info"

    def worker_count(self) -> int:
        """How many worker processes to run (``--workers``, else one per core)."""
        return self.workers or os.cpu_count() or 1

    @field_validator("model_base_path", "models_root", mode="before")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        return Path(os.path.expanduser(str(value))) if value not in (None, "") else None

    def resolved_base_path(self) -> Path:
        """The model's own directory: the flag, else ``$MODEL_BASE_PATH/$MODEL_NAME``.

        When ``$MODEL_BASE_PATH`` itself holds the integer versions (a common slip), it is used.
        """
        if self.model_base_path is not None:
            return self.model_base_path
        nested = self.models_root / self.model_name
        if not nested.exists() and list_versions(self.models_root):
            return self.models_root
        return nested
