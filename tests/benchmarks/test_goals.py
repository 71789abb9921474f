"""The targets section: ratios from one run's rows and extras, thresholds, verdicts."""

from __future__ import annotations

import math
from typing import Any

from benchmarks import goals


def _row(scenario: str, label: str, rps: float, connections: int = 64) -> dict[str, Any]:
    return {
        "scenario": scenario,
        "workers": 1,
        "label": label,
        "connections": connections,
        "rps": rps,
        "req_per_cpu_s": rps,
    }


def _by_number(found: list[goals.Goal]) -> dict[str, goals.Goal]:
    return {g.number: g for g in found}


def test_rest_goal_is_the_ratio_at_the_most_connections_measured() -> None:
    summary = [
        _row("mnist", "modelship", 900, connections=1),
        _row("mnist", "raw ASGI + onnxruntime", 1000, connections=1),
        _row("mnist", "modelship", 800),
        _row("mnist", "raw ASGI + onnxruntime", 1000),
    ]
    extras = {"instructions": {"modelship": 2_000_000.0, "raw-onnx": 1_500_000.0}}
    goal = _by_number(goals.evaluate(summary, [], extras))["1"]
    assert goal.ratio == 0.8
    assert goal.met is False
    assert "0.75x modelship's" in goal.details[1]


def test_a_comparison_is_met_only_on_every_measure() -> None:
    def rest(cpu: float, instructions: float) -> goals.Goal:
        summary = [
            _row("mnist", "modelship", 900),
            _row("mnist", "raw ASGI + onnxruntime", 1000),
        ]
        summary[0]["req_per_cpu_s"] = cpu
        extras = {"instructions": {"modelship": 1_000_000.0, "raw-onnx": instructions}}
        return _by_number(goals.evaluate(summary, [], extras))["1"]

    assert rest(cpu=900, instructions=900_000).met is True
    assert rest(cpu=700, instructions=900_000).met is False  # per CPU-second 0.7x
    assert rest(cpu=900, instructions=600_000).met is False  # instructions 0.6x


def test_grpc_goal_takes_the_worse_api_and_the_faster_rest_for_images() -> None:
    summary = [
        _row("grpc-native", "modelship gRPC V2 (h2load)", 900),
        _row("grpc-native", "modelship gRPC TFS (h2load)", 820),
        _row("grpc-native", "modelship REST TFS predict (wrk)", 1000),
        _row("grpc-image", "modelship gRPC V2 (image)", 120, 16),
        _row("grpc-image", "modelship gRPC TFS (image)", 130, 16),
        _row("grpc-image", "modelship REST TFS predict (image)", 5, 16),
        _row("grpc-image", "modelship REST V2 (image)", 125, 16),
    ]
    found = _by_number(goals.evaluate(summary, [], {}))
    assert math.isclose(found["2"].ratio or 0, 0.82)
    assert found["2"].met is True
    assert math.isclose(found["2c"].ratio or 0, 120 / 125)  # against V2 binary, not JSON
    assert found["2c"].met is False
    assert found["2b"].met is None  # not run: not measured, not "not met"


def test_extras_with_missing_or_failed_figures_are_not_measured() -> None:
    extras = {
        "batching": {"error": "exited 1"},
        "lifecycle": {"swap_p99_ms": 3.0},  # an older script without the ratio
    }
    found = _by_number(goals.evaluate([], [], extras))
    assert found["3"].met is None
    assert "exited 1" in found["3"].details[0]
    assert found["4"].met is None


def test_batching_goal_takes_the_worst_encoding_of_each_model() -> None:
    extras = {
        "batching": {
            "mnist": {
                "offline_gain_by_batch": {"1": 1.0, "8": 3.0},
                "encodings": {
                    "tfs": {"share_of_offline_gain": 0.5, "served_gain": 2.0},
                    "grpc-v2": {"share_of_offline_gain": 0.95},
                },
            }
        }
    }
    goal = _by_number(goals.evaluate([], [], extras))["3"]
    assert goal.ratio == 0.5
    assert goal.met is False
    assert goal.details[0].startswith("mnist tfs: served gain 2.00x")


def test_batching_and_lifecycle_goals_read_the_scripts_keys() -> None:
    extras = {
        "batching": {
            "mnist": {"share_of_offline_gain": 0.9, "mean_batch_formed": 8.0},
            "cnn": {"share_of_offline_gain": float("nan")},
        },
        "lifecycle": {
            "swap_p99_over_steady_p99": 1.2,
            "steady_p99_ms": 10.0,
            "swap_p99_ms": 12.0,
            "swap_loop_lag_p99_ms": 4.5,
        },
    }
    found = _by_number(goals.evaluate([], [], extras))
    assert found["3"].ratio == 0.9  # a model that formed no batches has no share to judge
    assert "cnn: = no share" in found["3"].details[1]
    assert found["4"].met is True
    assert "swap_loop_lag_p99_ms 4.50" in found["4"].details[1]


def test_peer_goal_counts_the_rows_each_peer_has() -> None:
    summary = [_row("mnist", "modelship", 1000)]
    summary += [_row("mnist", rest, 100) for rest, _ in goals.PEERS.values()]
    summary += [_row("mnist", grpc, 50) for _, grpc in goals.PEERS.values() if grpc]
    goal = _by_number(goals.evaluate(summary, [], {}))["5"]
    assert goal.met is True
    assert "KServe: REST 100 req/s, modelship 10.0x" in goal.details[0]
    skipped = [{"scenario": "mnist", "workers": 1, "label": "bentoml", "why": "probe failed"}]
    without = [r for r in summary if r["label"] != "bentoml"]
    goal = _by_number(goals.evaluate(without, skipped, {}))["5"]
    assert goal.met is False
    assert any("BentoML: REST: not measured (probe failed)" in d for d in goal.details)


def test_markdown_has_one_row_per_goal() -> None:
    lines = goals.markdown(goals.evaluate([], [], {}))
    assert lines[0] == "## Targets"
    assert sum(line.startswith("| 2b |") for line in lines) == 1
