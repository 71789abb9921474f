"""Collects measurements and writes results.json, a markdown summary and a plot."""

from __future__ import annotations

import dataclasses
import json
import platform
import shutil
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks import goals, plots
from benchmarks.scenarios import Case, Scenario
from benchmarks.wrk import WrkResult

__all__ = ["Book", "summarize"]

_KEY = ("scenario", "workers", "label", "connections")


def summarize(runs: list[dict[str, Any]], references: dict[str, str]) -> list[dict[str, Any]]:
    """Median of each metric over rounds, per (scenario, workers, label, connections).

    ``references`` maps ``"<scenario>/<workers>"`` to the label of the reference row.

    ``ratio`` is the row's median req/s over the scenario reference's median at the same
    workers and connections (None when the reference did not run); ``cpu_ratio`` the same for
    requests per CPU-second.
    """
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        groups[tuple(run[k] for k in _KEY)].append(run)
    rows = []
    for key, items in groups.items():
        first = items[0]
        row = dict(zip(_KEY, key, strict=True))
        row.update(
            target=first["target"],
            model=first["model"],
            encoding=first["encoding"],
            loadgen=first["loadgen"],
            rounds=len(items),
        )
        for metric in ("rps", "p50_ms", "p99_ms", "cpu_percent"):
            row[metric] = statistics.median(i[metric] for i in items)
        # requests per CPU-second of the server: steadier than req/s when other work shares
        # the machine, since it does not depend on how much CPU the server was given
        row["req_per_cpu_s"] = statistics.median(
            i["rps"] / (i["cpu_percent"] / 100) if i["cpu_percent"] > 0 else 0.0 for i in items
        )
        row["errors"] = sum(i["errors"] for i in items)
        rows.append(row)
    by_key = {tuple(r[k] for k in _KEY): r for r in rows}
    for row in rows:
        ref_label = references.get(f"{row['scenario']}/{row['workers']}")
        ref = by_key.get((row["scenario"], row["workers"], ref_label, row["connections"]))
        row["ratio"] = row["rps"] / ref["rps"] if ref and ref["rps"] else None
        row["cpu_ratio"] = (
            row["req_per_cpu_s"] / ref["req_per_cpu_s"] if ref and ref["req_per_cpu_s"] else None
        )
    return rows


class Book:
    """Every measurement of a run, written out after each scenario so partial runs survive."""

    def __init__(self, out: Path, settings: dict[str, Any]) -> None:
        self.out = out
        self.runs: list[dict[str, Any]] = []
        self.skipped: list[dict[str, Any]] = []
        self.titles: dict[str, str] = {}
        self.references: dict[str, str] = {}
        # figures of the measurements beside the tables (extras.py), by name
        self.extras: dict[str, dict[str, Any]] = {}
        self.meta: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
            "settings": {k: str(v) for k, v in settings.items()},
        }

    def add(
        self,
        scenario: Scenario,
        case: Case,
        workers: int,
        round_no: int,
        connections: int,
        result: WrkResult,
        cpu: float,
    ) -> None:
        self.titles[scenario.name] = scenario.title
        self.references[f"{scenario.name}/{workers}"] = scenario.reference
        self.runs.append(
            {
                "scenario": scenario.name,
                "workers": workers,
                "round": round_no,
                "label": case.label,
                "target": case.target,
                "encoding": case.encoding,
                "loadgen": case.loadgen,
                "model": scenario.model,
                "connections": connections,
                **result.to_dict(),
                "cpu_percent": cpu,
            }
        )

    @classmethod
    def load(cls, out: Path) -> Book:
        """A book holding the measurements of an earlier ``results.json`` in ``out``."""
        document = json.loads((out / "results.json").read_text())
        book = cls(out, {})
        keys = ("date", "machine", "settings", "appended", "elapsed_seconds")
        book.meta = {k: document[k] for k in keys if k in document}
        book.runs, book.skipped = document["runs"], document["skipped"]
        book.extras = document.get("extras", {})
        book.titles, book.references = document["titles"], document["references"]
        return book

    def forget(self, scenario: str, workers: int) -> None:
        """Drop what an earlier run measured for ``scenario`` at ``workers`` (before a re-run)."""

        def other(item: dict[str, Any]) -> bool:
            return (item["scenario"], item["workers"]) != (scenario, workers)

        self.runs = [r for r in self.runs if other(r)]
        self.skipped = [s for s in self.skipped if other(s)]

    def skip(self, scenario: str, workers: int, label: str, why: str) -> None:
        self.skipped.append({"scenario": scenario, "workers": workers, "label": label, "why": why})

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        summary = summarize(self.runs, self.references)
        judged = goals.evaluate(summary, self.skipped, self.extras)
        document = {
            **self.meta,
            "goals": [dataclasses.asdict(g) for g in judged],
            "extras": self.extras,
            "titles": self.titles,
            "references": self.references,
            "summary": summary,
            "skipped": self.skipped,
            "runs": self.runs,
        }
        (self.out / "results.json").write_text(json.dumps(document, indent=1) + "\n")
        pictures = []
        if summary:
            plots.scenario_panels(summary, self.titles, self.out / "scenarios.png")
            if plots.main_comparison(summary, self.out / "plot.png"):
                pictures.append("plot.png")
            else:  # no main table in this run: its scenarios are the picture
                shutil.copyfile(self.out / "scenarios.png", self.out / "plot.png")
        if plots.batching_curves(self.extras.get("batching", {}), self.out / "batching.png"):
            pictures.append("batching.png")
        (self.out / "README.md").write_text(self._markdown(summary, judged, pictures))

    def _markdown(
        self, summary: list[dict[str, Any]], judged: list[goals.Goal], pictures: list[str]
    ) -> str:
        settings = self.meta["settings"]
        assert isinstance(settings, dict)
        elapsed = self.meta.get("elapsed_seconds")
        took = f", {elapsed / 60:.0f} minutes in all" if elapsed else ""
        lines = [
            "# Benchmark results",
            "",
            f"Run {self.meta['date']} on {self.meta['machine']} by `make bench`{took}.",
            "",
            *goals.markdown(judged),
            *(f"![{name}]({name})" for name in pictures),
            "",
            *self._extras_markdown(),
            "## Tables",
            "",
            f"benchmarks/run.py: {settings.get('duration')} s per run "
            f"({settings.get('secondary_duration', settings.get('duration'))} s in the "
            f"secondary scenarios), {settings.get('rounds')} rounds (targets alternating), "
            "medians shown. "
            "wrk (2 threads) and the server share the machine's cores; CPU% is the server's "
            "process tree (100 % = one core); req/CPU-s is requests per CPU-second of the server, "
            "steadier than req/s on a busy machine. Ratios: req/s (and req/CPU-s) over the "
            "scenario's reference row at the same connections. "
            "Errors: non-2xx answers plus socket errors, summed over rounds.",
            "",
        ]
        for appended in self.meta.get("appended", []):
            lines += [
                f"Re-run {appended['date']} with {appended['settings'].get('duration')} s runs, "
                f"{appended['settings'].get('rounds')} rounds: scenarios "
                f"{appended['settings'].get('scenarios')} at "
                f"{appended['settings'].get('workers')} worker(s) (replacing the first run's).",
                "",
            ]
        for name, title in self.titles.items():
            rows = [r for r in summary if r["scenario"] == name]
            for workers in sorted({r["workers"] for r in rows}):
                lines += [
                    f"### {title} — {workers} worker(s)",
                    "",
                    f"Reference: {self.references[f'{name}/{workers}']}.",
                    "",
                    "| target | model | conn | req/s | p50 ms | p99 ms | errors | CPU % "
                    "| req/CPU-s | ratio | CPU ratio |",
                    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
                ]
                for r in sorted(
                    (r for r in rows if r["workers"] == workers),
                    key=lambda r: (r["connections"], -r["rps"]),
                ):
                    ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else "-"
                    cpu_ratio = f"{r['cpu_ratio']:.2f}" if r["cpu_ratio"] is not None else "-"
                    lines.append(
                        f"| {r['label']} | {r['model']} | {r['connections']} | {r['rps']:.0f} | "
                        f"{r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} | "
                        f"{r['cpu_percent']:.0f} | {r['req_per_cpu_s']:.0f} | {ratio} | "
                        f"{cpu_ratio} |"
                    )
                notes = [
                    s for s in self.skipped if s["scenario"] == name and s["workers"] == workers
                ]
                if notes:
                    lines.append("")
                    lines += [f"- not measured: {s['label']}: {s['why']}" for s in notes]
                lines.append("")
        return "\n".join(lines)

    def _extras_markdown(self) -> list[str]:
        """The figures of the measurements beside the tables, as their scripts wrote them."""
        lines: list[str] = ["## Beside the tables", ""] if self.extras else []
        for name, figures in self.extras.items():
            lines += [f"### {name}", ""]
            if "error" in figures or "skipped" in figures:
                lines += [f"Not measured: {figures.get('error') or figures.get('skipped')}", ""]
                continue
            lines += ["| figure | value |", "|---|---:|"]
            for key, value in _flatten(figures):
                shown = _number(value) if isinstance(value, float) else str(value)
                lines.append(f"| {key} | {shown} |")
            lines.append("")
        return lines


def _flatten(figures: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``figures`` as (dotted key, scalar) pairs; lists of runs are left out."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(figures.get("encodings"), dict):  # the per-encoding figures say it all
        figures = {k: v for k, v in figures.items() if isinstance(v, dict)}
    for key, value in figures.items():
        if isinstance(value, dict):
            pairs += _flatten(value, f"{prefix}{key}.")
        elif not isinstance(value, list):
            pairs.append((f"{prefix}{key}", value))
    return pairs


def _number(value: float) -> str:
    return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"


def _cpus() -> int:
    import os

    return os.cpu_count() or 0
