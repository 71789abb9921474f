"""The runtime table's records: load options checked once, specs with sensible defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelship.errors import BadConfig
from modelship.manifest import Manifest
from modelship.runtimes.spec import RuntimeOptions, RuntimeSpec
from tests.fixtures.fake_runtime import FakeRuntime


def test_default_options_let_the_runtime_decide_threads_and_device() -> None:
    options = RuntimeOptions()
    assert (options.intra_op_threads, options.inter_op_threads) == (0, 0)
    assert options.tags == ("serve",)
    assert options.device == "auto"


@pytest.mark.parametrize(("intra", "inter"), [(-1, 0), (0, -1), (-2, -3)])
def test_negative_thread_counts_are_refused_naming_both(intra: int, inter: int) -> None:
    with pytest.raises(BadConfig) as caught:
        RuntimeOptions(intra_op_threads=intra, inter_op_threads=inter)
    assert caught.value.message == (
        f"thread counts cannot be negative (intra-op {intra}, inter-op {inter}); "
        "use 0 to let the runtime decide"
    )


def test_tags_given_as_a_list_become_a_tuple_so_options_stay_hashable() -> None:
    options = RuntimeOptions(intra_op_threads=2, tags=["serve", "gpu"])  # type: ignore[arg-type]
    assert options.tags == ("serve", "gpu")
    assert hash(options) == hash(RuntimeOptions(intra_op_threads=2, tags=("serve", "gpu")))
    assert options == RuntimeOptions(intra_op_threads=2, tags=("serve", "gpu"))


def test_options_are_frozen() -> None:
    with pytest.raises(AttributeError):
        RuntimeOptions().device = "cuda"  # type: ignore[misc]


def test_a_spec_detects_and_loads_with_what_it_was_given(tmp_path: Path) -> None:
    loaded: list[tuple[Path, Manifest | None, RuntimeOptions]] = []

    def load(path: Path, manifest: Manifest | None, options: RuntimeOptions) -> FakeRuntime:
        loaded.append((path, manifest, options))
        return FakeRuntime(name="fake")

    spec = RuntimeSpec(
        name="fake",
        detect=lambda path: (path / "model.fake").is_file(),
        load=load,
        artifacts=("model.fake",),
    )
    assert (spec.platforms, spec.order) == ((), 100)
    assert not spec.detect(tmp_path)
    (tmp_path / "model.fake").write_bytes(b"")
    assert spec.detect(tmp_path)
    options = RuntimeOptions(inter_op_threads=1)
    runtime = spec.load(tmp_path, None, options)
    assert runtime.name == "fake"
    assert loaded == [(tmp_path, None, options)]
