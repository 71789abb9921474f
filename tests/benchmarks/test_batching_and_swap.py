"""The batching curve's and the swap benchmark's own arithmetic, and the offline curve on a real
model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks import batching_curve, lifecycle, models


def _run(rps: float, batch: float, cpu: float) -> dict[str, float]:
    return {"rps": rps, "p99_ms": 1.0, "errors": 0, "batch": batch, "cpu_seconds_per_request": cpu}


def test_figures_relate_the_served_gain_to_the_offline_curve_and_the_runs_share() -> None:
    # 10,000 rows/s at batch 1 (0.1 ms a row), 4x at batch 8; a request costs 0.5 ms of CPU.
    curve = {1: 10_000.0, 4: 20_000.0, 8: 40_000.0, 32: 80_000.0}
    runs = {
        False: [_run(1000, 1, 0.0005), _run(1200, 1, 0.0005)],
        True: [_run(1400, 8, 0.0004), _run(1600, 8, 0.0004)],
    }
    found = batching_curve.figures(curve, runs)
    assert found["served_gain"] == pytest.approx(1500 / 1100)
    assert found["offline_gain_at_that_batch"] == pytest.approx(4.0)
    assert found["share_of_offline_gain"] == pytest.approx((1500 / 1100 - 1) / 3)
    assert found["run_share"] == pytest.approx(0.2)
    assert found["served_gain_bound"] == pytest.approx(1 / 0.8)
    assert found["served_gain_bound_at_that_batch"] == pytest.approx(1 / (0.8 + 0.2 / 4))
    assert found["served_gain_per_cpu_second"] == pytest.approx(1.25)


def test_figures_interpolate_between_measured_batches() -> None:
    curve = {1: 100.0, 4: 400.0, 8: 400.0, 32: 400.0}
    runs = {False: [_run(10, 1, 0.1)], True: [_run(10, 2.5, 0.1)]}
    assert batching_curve.figures(curve, runs)["offline_gain_at_that_batch"] == pytest.approx(2.5)


def test_offline_curve_measures_every_batch_size(tmp_path: Path) -> None:
    path = tmp_path / "mnist" / "1" / "model.onnx"
    models.build_mlp(path)
    info = models.describe("mnist", path)
    curve = batching_curve.offline_curve(info, seconds=0.5)
    assert set(curve) == set(batching_curve.BATCHES)
    assert all(np.isfinite(rate) and rate > 0 for rate in curve.values())


def test_lag_windows_add_up_the_samples_between_scrapes() -> None:
    inf = float("inf")
    windows = lifecycle.LagWindows()
    # cumulative buckets: 0.01 -> 0.05 -> 0.1 -> +Inf; (buckets, sum of the samples)
    before = ({0.01: 10.0, 0.05: 10.0, 0.1: 10.0, inf: 10.0}, 0.02)
    after = ({0.01: 60.0, 0.05: 99.0, 0.1: 110.0, inf: 110.0}, 1.02)
    windows.add(before, after)
    quiet = ({0.01: 0.0, 0.05: 0.0, 0.1: 0.0, inf: 0.0}, 0.0)
    windows.add(quiet, quiet)  # a window without samples adds nothing
    found = windows.figures("swap")
    assert found["swap_loop_lag_samples"] == 100
    assert found["swap_loop_lag_mean_ms"] == pytest.approx(10.0)
    assert found["swap_loop_lag_p99_ms"] == pytest.approx(100.0)  # 89 of 100 by 0.05 s
    assert found["swap_loop_lag_max_ms"] == pytest.approx(100.0)


def test_lag_windows_without_samples_say_so() -> None:
    found = lifecycle.LagWindows().figures("steady")
    assert found["steady_loop_lag_samples"] == 0
    assert np.isnan(found["steady_loop_lag_mean_ms"])
