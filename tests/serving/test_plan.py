"""Per-version plans: bound on a signature's first request, kept on the version, bound again
when the version is loaded again; and the pipeline that uses them, on a real ONNX model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from modelship.errors import SignatureNotFound, VersionNotFound
from modelship.lifecycle.loader import Loader
from modelship.lifecycle.manager import load_version, unload_version
from modelship.registry import Registry, ServedVersion
from modelship.runtimes.base import Arrays
from modelship.serving.batcher import BatchingExecutor
from modelship.serving.batching_params import BatchingParameters
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.inference import InferenceRequest, ModelSpec
from modelship.serving.metrics import API_REST_TFS, Metrics
from modelship.serving.plan import bind_plan
from modelship.serving.statistics import InferenceStatistics
from tests.fixtures.toy_models import two_in_two_out, write_version
from tests.fixtures.where_it_ran import WhereItRan


@pytest.fixture
def served(tmp_path: Path) -> ServedVersion:
    path = write_version(tmp_path / "pair", 1, two_in_two_out(), labels=["x", "y", "z"])
    version = ServedVersion("pair", 1, path)
    load_version(version, Loader(threads=1))
    assert version.runtime is not None
    return version


def _inputs(rows: int = 2) -> Arrays:
    return {"a": np.ones((rows, 3), np.float32), "b": np.full((rows, 3), 2.0, np.float32)}


def test_a_plan_is_bound_once_per_signature_and_again_after_a_reload(
    served: ServedVersion,
) -> None:
    executor = ThreadExecutor(threads=1)
    statistics = InferenceStatistics()
    try:
        plan = bind_plan(served, "", executor, statistics)
        assert plan.name == "serving_default"
        assert list(plan.signature.inputs) == ["a", "b"]
        assert plan.labels == ["x", "y", "z"]
        assert plan.image is None
        assert plan.record is statistics.record("pair", 1)
        assert plan.cost is executor.cost(served.runtime)  # type: ignore[arg-type]
        assert bind_plan(served, "", executor, statistics) is plan
        # Named or not, the same signature; each name keeps its own entry.
        assert bind_plan(served, "serving_default", executor, statistics).name == plan.name
        unload_version(served)
        with pytest.raises(VersionNotFound):
            bind_plan(served, "", executor, statistics)
        load_version(served, Loader(threads=1))
        again = bind_plan(served, "", executor, statistics)
        assert again is not plan
        assert again.runtime is served.runtime
    finally:
        executor.close()
        unload_version(served)


def test_an_unknown_signature_is_refused_and_not_kept(served: ServedVersion) -> None:
    with pytest.raises(SignatureNotFound, match='"classify_images" not found'):
        bind_plan(served, "classify_images", None, None)
    assert "classify_images" not in served.plans
    unload_version(served)


def test_the_pipeline_runs_a_cheap_model_inline_from_its_second_request(
    served: ServedVersion,
) -> None:
    recorder = WhereItRan(served.runtime)  # type: ignore[arg-type]
    served.runtime = recorder
    served.state = "AVAILABLE"
    registry = Registry()
    registry.add_model("pair", served.path.parent)
    registry.set_version(served)
    dataplane = DataPlane(registry, ThreadExecutor(threads=1, inline_seconds=0.5))
    request = InferenceRequest(_inputs(), timeout=30.0)

    async def main() -> None:
        for _ in range(3):
            response = await dataplane.infer(ModelSpec("pair"), request, API_REST_TFS)
            np.testing.assert_array_equal(response.outputs["sum"], np.full((2, 3), 3.0))
            assert response.labels == ["x", "y", "z"]

    try:
        asyncio.run(main())
    finally:
        dataplane.executor.close()
        unload_version(served)
    assert recorder.threads[0].startswith("inference")
    assert recorder.threads[1:] == ["MainThread", "MainThread"]
    record = dataplane.metrics.statistics.record("pair", 1)
    # Every call counted, inline or not: rows, runtime calls, requests.
    assert (record.inference_count, record.execution_count, record.success.count) == (6, 3, 3)
    assert record.batches[2].count == 3


def test_a_batching_executor_gets_plans_and_no_inline_path(served: ServedVersion) -> None:
    registry = Registry()
    registry.add_model("pair", served.path.parent)
    registry.set_version(served)
    executor = BatchingExecutor(BatchingParameters(max_batch_size=4))
    dataplane = DataPlane(registry, executor, Metrics(registry))
    request = InferenceRequest(_inputs(1))

    async def main() -> None:
        for _ in range(2):
            response = await dataplane.infer(ModelSpec("pair"), request, API_REST_TFS)
            np.testing.assert_array_equal(response.outputs["product"], np.full((1, 3), 2.0))

    try:
        asyncio.run(main())
    finally:
        executor.close()
        unload_version(served)
    plan = served.plans[""]
    assert plan.cost is None
    assert plan.record is dataplane.metrics.statistics.record("pair", 1)
    assert dataplane.metrics.statistics.record("pair", 1).success.count == 2
