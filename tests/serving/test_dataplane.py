"""The inference pipeline in process: one resolution held to the end, deadlines, top-k,
output filters, classify and regress, and one metric observation per call."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from modelship.errors import (
    DeadlineExceeded,
    FailedPrecondition,
    InvalidInput,
    ModelNotFound,
    VersionNotFound,
)
from modelship.registry import Registry
from modelship.serving.dataplane import DataPlane
from modelship.serving.executor import ThreadExecutor
from modelship.serving.inference import InferenceRequest, ModelSpec
from modelship.serving.metrics import API_GRPC, API_REST_TFS, Metrics
from tests.fixtures.fake_runtime import FakeRuntime, serve_fake

ROWS = np.array([[0.1, 0.5, 0.2], [0.3, 0.1, 0.9]], dtype=np.float32)


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def dataplane(registry: Registry) -> DataPlane:
    # inline_seconds=0: every call runs on the pool, so a gated runtime never blocks the loop.
    return DataPlane(registry, ThreadExecutor(threads=2, inline_seconds=0), Metrics(registry))


def _count(dataplane: DataPlane, status: str, api: str = API_REST_TFS, version: str = "1") -> float:
    wanted = (
        f'modelship_requests_total{{api="{api}",model="toy",status="{status}",'
        f'version="{version}"}} '
    )
    for line in dataplane.metrics.render().decode().splitlines():
        if line.startswith(wanted):
            return float(line.split()[-1])
    return 0.0


def test_infer_runs_the_request_and_records_it_once(
    registry: Registry, dataplane: DataPlane
) -> None:
    serve_fake(registry, FakeRuntime())
    response = asyncio.run(
        dataplane.infer(ModelSpec("toy"), InferenceRequest({"x": ROWS}), API_REST_TFS)
    )
    assert (response.model, response.version, response.signature_name) == (
        "toy",
        1,
        "serving_default",
    )
    np.testing.assert_allclose(response.outputs["probabilities"], ROWS * 2)
    assert _count(dataplane, "OK") == 1


def test_inputs_are_decoded_once_the_signature_is_known(
    registry: Registry, dataplane: DataPlane
) -> None:
    serve_fake(registry, FakeRuntime())
    seen = []

    def decode(signature: object, image: object) -> dict[str, np.ndarray]:
        seen.append((signature, image))
        return {"x": np.array([[1, 2, 3]], dtype=np.float32)}

    async def source() -> InferenceRequest:
        return InferenceRequest(decode)

    response = asyncio.run(dataplane.infer(ModelSpec("toy"), source, API_REST_TFS))
    assert response.outputs["probabilities"].tolist() == [[2.0, 4.0, 6.0]]
    assert len(seen) == 1
    assert seen[0][1] is None  # not an image model


def test_a_request_holds_its_version_until_it_is_answered(
    registry: Registry, dataplane: DataPlane
) -> None:
    runtime = FakeRuntime(gate=threading.Event())
    served = serve_fake(registry, runtime)

    async def scenario() -> None:
        call = asyncio.ensure_future(
            dataplane.infer(ModelSpec("toy"), InferenceRequest({"x": ROWS}), API_REST_TFS)
        )
        await asyncio.to_thread(runtime.entered.wait, 5)
        assert served.holders == 1
        # Retired meanwhile: new requests no longer find it, the running one still finishes.
        served.state = "UNLOADING"
        assert not served.wait_released(timeout=0.01)
        with pytest.raises(VersionNotFound):
            await dataplane.infer(ModelSpec("toy"), InferenceRequest({"x": ROWS}), API_REST_TFS)
        assert runtime.gate is not None
        runtime.gate.set()
        response = await call
        assert response.version == 1
        assert served.holders == 0
        assert served.wait_released(timeout=0)

    asyncio.run(scenario())


def test_the_deadline_answers_deadline_exceeded_and_lets_go_of_the_version(
    registry: Registry, dataplane: DataPlane
) -> None:
    runtime = FakeRuntime(gate=threading.Event())
    served = serve_fake(registry, runtime)
    request = InferenceRequest({"x": ROWS}, timeout=0.05, timeout_source="the caller's deadline")
    with pytest.raises(DeadlineExceeded, match=r"within 50 ms \(the caller's deadline\)"):
        asyncio.run(dataplane.infer(ModelSpec("toy"), request, API_GRPC))
    assert runtime.gate is not None
    runtime.gate.set()
    assert served.holders == 0
    assert _count(dataplane, "DEADLINE_EXCEEDED", api=API_GRPC) == 1


def test_top_k_names_the_best_classes_with_the_version_labels(
    registry: Registry, dataplane: DataPlane
) -> None:
    serve_fake(registry, FakeRuntime(), labels=("cat", "dog", "fox"))
    request = InferenceRequest({"x": ROWS}, top_k=2)
    outputs = asyncio.run(dataplane.infer(ModelSpec("toy"), request, API_REST_TFS)).outputs
    assert outputs["classes"].tolist() == [[b"dog", b"fox"], [b"fox", b"cat"]]
    np.testing.assert_allclose(outputs["scores"], [[1.0, 0.4], [1.8, 0.6]], rtol=1e-6)


def test_bad_requests_are_refused_before_the_model_runs(
    registry: Registry, dataplane: DataPlane
) -> None:
    runtime = FakeRuntime()
    serve_fake(registry, runtime)
    bad_filter = InferenceRequest({"x": ROWS}, output_filter=["nope"])
    with pytest.raises(InvalidInput, match="unknown output"):
        asyncio.run(dataplane.infer(ModelSpec("toy"), bad_filter, API_REST_TFS))
    bad_rows = InferenceRequest({"x": np.zeros((2, 4), dtype=np.float32)})
    with pytest.raises(InvalidInput, match="expected 3 values per instance"):
        asyncio.run(dataplane.infer(ModelSpec("toy"), bad_rows, API_REST_TFS))
    assert runtime.calls == 0
    assert _count(dataplane, "INVALID_ARGUMENT") == 2


def test_a_runtime_failure_is_internal_and_the_next_request_is_served(
    registry: Registry, dataplane: DataPlane
) -> None:
    runtime = FakeRuntime(error=RuntimeError("boom"))
    served = serve_fake(registry, runtime)
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(dataplane.infer(ModelSpec("toy"), InferenceRequest({"x": ROWS}), API_GRPC))
    assert _count(dataplane, "INTERNAL", api=API_GRPC) == 1
    assert served.holders == 0
    runtime.error = None
    asyncio.run(dataplane.infer(ModelSpec("toy"), InferenceRequest({"x": ROWS}), API_GRPC))
    assert _count(dataplane, "OK", api=API_GRPC) == 1


def test_unknown_models_are_counted_without_a_label_series_of_their_own(
    dataplane: DataPlane,
) -> None:
    with pytest.raises(ModelNotFound):
        asyncio.run(dataplane.infer(ModelSpec("ghost"), InferenceRequest({}), API_REST_TFS))
    assert 'model="ghost"' not in dataplane.metrics.render().decode()


def test_classify_pairs_scores_with_labels_and_regress_needs_one_value(
    registry: Registry, dataplane: DataPlane
) -> None:
    serve_fake(registry, FakeRuntime(), labels=("cat", "dog", "fox"))
    _, rows = asyncio.run(
        dataplane.classify(ModelSpec("toy"), InferenceRequest({"x": ROWS[:1]}), API_REST_TFS)
    )
    assert [label for label, _ in rows[0]] == ["cat", "dog", "fox"]
    assert [round(score, 5) for _, score in rows[0]] == [0.2, 1.0, 0.4]
    with pytest.raises(FailedPrecondition, match="regress needs one value per example"):
        asyncio.run(
            dataplane.regress(ModelSpec("toy"), InferenceRequest({"x": ROWS}), API_REST_TFS)
        )


def test_status_lists_every_version_newest_first(registry: Registry, dataplane: DataPlane) -> None:
    serve_fake(registry, FakeRuntime(), version=1)
    failed = serve_fake(registry, FakeRuntime(), version=2)
    failed.state, failed.runtime = "END", None
    failed.error_code, failed.error_message = "UNKNOWN", "bad artifact"
    statuses = dataplane.status(ModelSpec("toy"))
    assert [(s.version, s.state, s.error_code) for s in statuses] == [
        (2, "END", "UNKNOWN"),
        (1, "AVAILABLE", "OK"),
    ]
    assert dataplane.model_metadata(ModelSpec("toy")).versions == ["1"]
