"""The loader on real toy versions: manifest, signature check, warm-up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelship.errors import FailedPrecondition, ModelshipError
from modelship.lifecycle.loader import Loader
from modelship.lifecycle.manager import load_version
from modelship.registry import ServedVersion
from modelship.settings import ServeSettings
from tests.fixtures.toy_models import softmax_linear, two_in_two_out, write_version


def version(base: Path, number: int, model: object = None) -> ServedVersion:
    path = write_version(base, number, model or softmax_linear(784, 10, seed=number)[0])  # type: ignore[arg-type]
    return ServedVersion(model=base.name, version=number, path=path)


def test_a_loaded_version_comes_with_its_manifest(tmp_path: Path) -> None:
    loaded = Loader(threads=1).load(version(tmp_path / "toy", 1))
    assert loaded.manifest is not None
    assert loaded.manifest.version == 1
    assert set(loaded.runtime.signatures) == {"serving_default"}
    loaded.runtime.close()


def test_a_new_version_must_keep_the_serving_signature(tmp_path: Path) -> None:
    serving = version(tmp_path / "toy", 1)
    load_version(serving, Loader(threads=1))
    assert serving.available
    with pytest.raises(FailedPrecondition, match="differs from the serving version 1"):
        Loader(threads=1).load(version(tmp_path / "toy", 2, two_in_two_out()), previous=serving)


def test_a_failing_warmup_request_fails_the_load_only_when_warm_up_is_on(tmp_path: Path) -> None:
    served = version(tmp_path / "toy", 1)
    (served.path / "assets.extra").mkdir()
    (served.path / "assets.extra" / "warmup.json").write_text(
        json.dumps({"inputs": {"pixels": [[0.0]]}})
    )
    assert Loader.from_settings(ServeSettings(enable_model_warmup=False)).load(served)
    with pytest.raises(ModelshipError, match="warm-up request 0 failed"):
        Loader.from_settings(ServeSettings(enable_model_warmup=True)).load(served)


def test_loader_from_settings_takes_the_flags() -> None:
    settings = ServeSettings(intra_op_threads=3, num_request_iterations_for_warmup=4)
    loader = Loader.from_settings(settings)
    assert (loader.threads, loader.warmup_iterations) == (3, 4)
