"""How long a ``make bench`` run will take here, printed before it starts.

Measured on the 2-core machine the benchmark was written on: starting a server (to ready,
probe and warm-up included) and installing a peer's environment the first time. The estimate
is rough (a busy machine starts servers slower) but tells a fresh clone what it is in for.
"""

from __future__ import annotations

from collections.abc import Iterable

from benchmarks.scenarios import Case, Scenario

__all__ = [
    "PEER_INSTALL_SECONDS",
    "START_SECONDS",
    "family",
    "peer_environments",
    "scenario_seconds",
]

# seconds from launch to ready and probed (a busy machine's: load average about 20)
START_SECONDS = {
    "modelship": 5.0,
    "raw": 3.0,
    "mlserver": 20.0,
    "litserve": 10.0,
    "kserve": 13.0,
    "bentoml": 20.0,
    "triton": 16.0,
    "torchserve": 40.0,
}
# first run only: creating the peer's virtual environment from its pinned requirements
PEER_INSTALL_SECONDS = {
    "kserve": 300.0,
    "mlserver": 250.0,
    "litserve": 150.0,
    "pytriton": 150.0,
    "bentoml": 400.0,
    "torchserve": 450.0,
}
# per case and connection count: its warm-up, the wait for an idle server, the probe
_CASE_OVERHEAD = 3.0


def family(target: str) -> str:
    """The kind of server a target name runs (a key of :data:`START_SECONDS`)."""
    for family in START_SECONDS:
        if target.startswith(family):
            return family
    return "modelship"


def _selected(scenario: Scenario, only: Iterable[str]) -> list[Case]:
    wanted = set(only)
    return [
        c
        for c in scenario.cases
        if not wanted or c.target in wanted or c.target.removesuffix("@base") in wanted
    ]


def peer_environments(scenarios: Iterable[Scenario], only: Iterable[str] = ()) -> list[str]:
    """The peer environments (``peers/<name>.txt``) the targets of ``scenarios`` need."""
    names = {
        f
        for s in scenarios
        for f in (family(c.target) for c in _selected(s, only))
        if f not in ("modelship", "raw")
    }
    return sorted("pytriton" if n == "triton" else n for n in names)


def scenario_seconds(
    scenario: Scenario, rounds: int, duration: float, only: Iterable[str] = ()
) -> float:
    """Seconds one scenario takes: every target started ``rounds`` times, every case measured
    at every connection count for ``duration`` seconds (the scenario's minimum if longer)."""
    cases = _selected(scenario, only)
    starts = sum(START_SECONDS[family(t)] for t in {c.target for c in cases})
    per_case = len(scenario.connections) * (max(duration, scenario.min_duration) + _CASE_OVERHEAD)
    return rounds * (starts + len(cases) * per_case)
