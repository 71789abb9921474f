"""The speed targets ``make bench`` is judged on, computed from one run's figures.

Each goal is a ratio measured in the same run (never across runs: the machine's noise moves
absolute figures by tens of percent), its threshold, and whether this run met it. A figure the
run did not produce (a scenario filtered out, a server that failed its probe, a key an older
script does not write) makes the goal "not measured", with the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PEERS", "Goal", "evaluate", "markdown"]

# peer -> (label of its REST row, label of its gRPC row or why it has none), scenario "mnist"
PEERS: dict[str, tuple[str, str | None]] = {
    "KServe": ("kserve", "kserve gRPC"),
    "Triton (PyTriton)": ("triton (pytriton)", "triton (pytriton) gRPC"),
    "TorchServe": ("torchserve", "torchserve gRPC"),
    "MLServer": ("mlserver(pw=1)", "mlserver(pw=1) gRPC"),
    "MLServer, inference in the HTTP process": ("mlserver(pw=0)", None),
    "BentoML": ("bentoml", None),
    "LitServe": ("litserve", None),
}
# REST predict's faster API in the gRPC-vs-REST scenarios: TF Serving JSON or V2
_BEST_REST = "modelship REST TFS predict{0}|modelship REST V2{0}"
NO_GRPC = {
    "BentoML": "BentoML 1.4 serves HTTP only (its gRPC server went with the 1.2 service API)",
    "LitServe": "LitServe serves HTTP only (FastAPI)",
    "MLServer, inference in the HTTP process": "its gRPC row is the parallel-workers setting's",
}


@dataclass
class Goal:
    """One target: the ratio this run measured, its threshold and the verdict."""

    number: str
    title: str
    threshold: str
    ratio: float | None = None
    met: bool | None = None  # None: not measured
    # the same ratio in requests per CPU-second of the servers: steadier on a busy machine,
    # where a server's share of the cores depends on its thread count
    cpu_ratio: float | None = None
    details: list[str] = field(default_factory=list)


def _row(
    summary: list[dict[str, Any]], scenario: str, label: str, connections: int | None = None
) -> dict[str, Any] | None:
    rows = [
        r
        for r in summary
        if r["scenario"] == scenario and r["workers"] == 1 and r["label"] == label
    ]
    if connections is not None:
        rows = [r for r in rows if r["connections"] == connections]
    # the most connections measured: the goals are stated at 64
    return max(rows, key=lambda r: r["connections"]) if rows else None


def _skip_reason(skipped: list[dict[str, Any]], scenario: str, label: str) -> str:
    for item in skipped:
        if item["scenario"] == scenario and item["label"] == label and item["workers"] == 1:
            return str(item["why"])[:200]
    return "not run"


def _ratio_goal(
    goal: Goal,
    summary: list[dict[str, Any]],
    skipped: list[dict[str, Any]],
    scenario: str,
    pairs: list[tuple[str, str]],
    minimum: float,
) -> Goal:
    """``goal`` judged on the smallest numerator/denominator req/s ratio of ``pairs``; a
    denominator ``"a|b"`` is the faster of rows a and b."""
    ratios, cpu_ratios = [], []
    for numerator, denominators in pairs:
        top = _row(summary, scenario, numerator)
        # several denominators: the fastest of them (e.g. REST's best encoding for images)
        found = [
            r
            for r in (
                _row(summary, scenario, d, top["connections"] if top else None)
                for d in denominators.split("|")
            )
            if r is not None
        ]
        bottom = max(found, key=lambda r: r["rps"]) if found else None
        denominator = bottom["label"] if bottom else denominators
        if top is None or bottom is None or not bottom["rps"]:
            missing = numerator if top is None else denominator
            goal.details.append(
                f"{missing}: not measured ({_skip_reason(skipped, scenario, missing)})"
            )
            continue
        ratio = top["rps"] / bottom["rps"]
        cpu = ""
        if bottom["req_per_cpu_s"]:
            cpu_ratios.append(top["req_per_cpu_s"] / bottom["req_per_cpu_s"])
            cpu = f", per CPU-second {cpu_ratios[-1]:.2f}x"
        goal.details.append(
            f"{numerator} {top['rps']:,.0f} req/s / {denominator} {bottom['rps']:,.0f} req/s "
            f"at {top['connections']} connections = **{ratio:.2f}x**{cpu}"
        )
        ratios.append(ratio)
    if ratios and len(ratios) == len(pairs):
        goal.ratio = min(ratios)
        goal.cpu_ratio = min(cpu_ratios) if len(cpu_ratios) == len(pairs) else None
        # Met only on every measure this run has: on a busy machine req/s follows each
        # server's share of the cores, which requests per CPU-second do not.
        goal.met = goal.ratio >= minimum and (goal.cpu_ratio is None or goal.cpu_ratio >= minimum)
    return goal


def _rest_goal(summary: list[dict[str, Any]], skipped: list[dict[str, Any]], extras: Any) -> Goal:
    goal = _ratio_goal(
        Goal("1", "REST predict vs the raw ASGI + onnxruntime server, 1 worker", ">= 0.85x"),
        summary,
        skipped,
        "mnist",
        [("modelship", "raw ASGI + onnxruntime")],
        0.85,
    )
    counts = extras.get("instructions", {})
    if counts.get("modelship") and counts.get("raw-onnx"):
        instructions = counts["raw-onnx"] / counts["modelship"]
        goal.details.append(
            f"instructions per request (callgrind, {counts.get('requests')} requests): "
            f"modelship {counts['modelship']:,.0f}, raw {counts['raw-onnx']:,.0f}: the raw "
            f"server's count is {instructions:.2f}x modelship's "
            "(the machine-independent form of the same ratio)"
        )
        if goal.met is not None:
            goal.met = goal.met and instructions >= 0.85
    else:
        why = counts.get("skipped") or counts.get("error") or "not run"
        goal.details.append(f"instructions per request: not measured ({why})")
    return goal


def _served_figures(figures: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, figures) of each served measurement: one per model, or per model and encoding
    where the script measured several encodings (``{"encodings": {...}}``)."""
    found = []
    for model, data in figures.items():
        if not isinstance(data, dict):
            continue
        encodings = data.get("encodings")
        if isinstance(encodings, dict):
            found += [(f"{model} {e}", d) for e, d in encodings.items() if isinstance(d, dict)]
        else:
            found.append((model, data))
    return found


def _batching_goal(extras: dict[str, Any]) -> Goal:
    goal = Goal(
        "3",
        "Dynamic batching: share of onnxruntime's offline gain realised under load (worst)",
        ">= 0.80",
    )
    figures = extras.get("batching", {})
    served = _served_figures(figures)
    if "error" in figures or not served:
        goal.details.append(f"not measured ({figures.get('error', 'not run')})")
        return goal
    shares = []
    for name, data in served:
        share = data.get("share_of_offline_gain")
        batch = data.get("mean_batch_formed")
        gain = data.get("offline_gain_at_that_batch")
        served_gain = data.get("served_gain")
        text = [f"{name}:"]
        if isinstance(served_gain, int | float):
            text.append(f"served gain {served_gain:.2f}x")
        if isinstance(batch, int | float) and isinstance(gain, int | float):
            text.append(f"of {gain:.2f}x offline at the mean batch formed ({batch:.1f})")
        if isinstance(share, int | float) and math.isfinite(share):
            text.append(f"= **{share:.0%}**")
            shares.append(float(share))
        else:
            text.append("= no share (no offline gain at the batch formed)")
        bound = data.get("served_gain_bound_at_that_batch")
        if isinstance(bound, int | float) and math.isfinite(bound):
            text.append(f"(the run's share of a request bounds the gain at {bound:.2f}x)")
        goal.details.append(" ".join(text))
    if shares:
        goal.ratio = min(shares)
        goal.met = goal.ratio >= 0.8
    return goal


def _lifecycle_goal(extras: dict[str, Any]) -> Goal:
    goal = Goal("4", "p99 while a version loads and swaps / steady p99", "<= 1.5x")
    figures = extras.get("lifecycle", {})
    ratio = figures.get("swap_p99_over_steady_p99")
    if not isinstance(ratio, int | float):
        goal.details.append(f"not measured ({figures.get('error', 'not run')})")
        return goal
    goal.ratio, goal.met = float(ratio), ratio <= 1.5
    goal.details.append(
        f"steady p99 {figures.get('steady_p99_ms', float('nan')):.1f} ms, swap p99 "
        f"{figures.get('swap_p99_ms', float('nan')):.1f} ms over {figures.get('cycles')} cycles "
        f"= **{ratio:.2f}x**; failed requests {figures.get('failed_requests')}"
    )
    lags = {k: v for k, v in figures.items() if "loop_lag" in k and isinstance(v, int | float)}
    if lags:
        goal.details.append(
            "event-loop lag: " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(lags.items()))
        )
    else:
        goal.details.append("event-loop lag: not in this lifecycle.py's figures")
    return goal


def _peers_goal(summary: list[dict[str, Any]], skipped: list[dict[str, Any]]) -> Goal:
    goal = Goal(
        "5",
        "Every peer measured at its defaults, REST and gRPC where it has it (modelship / peer)",
        "all rows measured",
    )
    ours = {
        "REST": _row(summary, "mnist", "modelship"),
        "gRPC": _row(summary, "grpc-native", "modelship gRPC V2 (h2load)"),
    }
    measured = wanted = 0
    for peer, (rest, grpc) in PEERS.items():
        cells = []
        for protocol, label in (("REST", rest), ("gRPC", grpc)):
            if label is None:
                cells.append(f"{protocol}: none ({NO_GRPC.get(peer, 'none')})")
                continue
            wanted += 1
            row = _row(summary, "mnist", label)
            if row is None:
                cells.append(f"{protocol}: not measured ({_skip_reason(skipped, 'mnist', label)})")
                continue
            measured += 1
            mine = ours[protocol]
            versus = f", modelship {mine['rps'] / row['rps']:.1f}x" if mine and row["rps"] else ""
            cells.append(f"{protocol} {row['rps']:,.0f} req/s{versus}")
        goal.details.append(f"{peer}: " + "; ".join(cells))
    goal.ratio = measured / wanted if wanted and measured else None
    goal.met = measured == wanted if measured else None
    goal.threshold = f"all {wanted} rows measured"
    return goal


def evaluate(
    summary: list[dict[str, Any]], skipped: list[dict[str, Any]], extras: dict[str, Any]
) -> list[Goal]:
    """Every goal, judged on this run's median figures (``report.summarize``) and extras."""
    return [
        _rest_goal(summary, skipped, extras),
        _ratio_goal(
            Goal("2", "gRPC ModelInfer and TF Serving Predict vs REST predict, one row", ">= 0.8x"),
            summary,
            skipped,
            "grpc-native",
            [
                ("modelship gRPC V2 (h2load)", "modelship REST TFS predict (wrk)"),
                ("modelship gRPC TFS (h2load)", "modelship REST TFS predict (wrk)"),
            ],
            0.8,
        ),
        _ratio_goal(
            Goal("2b", "gRPC vs REST predict (its faster API), 8 rows per request", ">= 1.0x"),
            summary,
            skipped,
            "grpc-batch",
            [
                ("modelship gRPC V2 (8 rows)", _BEST_REST.format(" (8 rows)")),
                ("modelship gRPC TFS (8 rows)", _BEST_REST.format(" (8 rows)")),
            ],
            1.0,
        ),
        _ratio_goal(
            Goal(
                "2c",
                "gRPC vs REST predict (JSON or V2 binary, the faster), one 224x224x3 image",
                ">= 1.0x",
            ),
            summary,
            skipped,
            "grpc-image",
            [
                ("modelship gRPC V2 (image)", _BEST_REST.format(" (image)")),
                ("modelship gRPC TFS (image)", _BEST_REST.format(" (image)")),
            ],
            1.0,
        ),
        _batching_goal(extras),
        _lifecycle_goal(extras),
        _peers_goal(summary, skipped),
    ]


def markdown(goals: list[Goal]) -> list[str]:
    """The "Targets" section: one table row per goal, then each goal's figures."""
    lines = [
        "## Targets",
        "",
        "Ratios of req/s measured in this run; where the goal compares servers, the same "
        "ratio in requests per CPU-second of the servers beside it (on a busy machine each "
        "server's share of the cores follows its thread count, which req/s then carries). "
        "A comparison is met only when every measure of it meets the threshold: req/s, "
        "per CPU-second and, for target 1, callgrind's instructions per request.",
        "",
        "| # | target | this run | per CPU-s | threshold | verdict |",
        "|---|---|---:|---:|---|---|",
    ]
    for goal in goals:
        ratio = "-" if goal.ratio is None else f"{goal.ratio:.2f}"
        cpu = "-" if goal.cpu_ratio is None else f"{goal.cpu_ratio:.2f}"
        verdict = {True: "met", False: "**not met**", None: "not measured"}[goal.met]
        lines.append(
            f"| {goal.number} | {goal.title} | {ratio} | {cpu} | {goal.threshold} | {verdict} |"
        )
    lines.append("")
    for goal in goals:
        lines.append(f"- **{goal.number}**: " + "; ".join(goal.details))
    lines.append("")
    return lines
