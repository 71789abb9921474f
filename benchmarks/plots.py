"""The pictures of a run: the main throughput comparison, every scenario, the batching curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["batching_curves", "main_comparison", "scenario_panels"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def main_comparison(summary: list[dict[str, Any]], path: Path) -> bool:
    """Every server's req/s on the MLP at 1 worker and the most connections measured, REST
    and gRPC, one bar each (the "mnist" table, plus modelship's gRPC rows of "grpc-native").
    False when the run measured none of it."""
    rows = [r for r in summary if r["workers"] == 1 and r["scenario"] == "mnist"]
    if not rows:
        return False
    connections = max(r["connections"] for r in rows)
    rows = [r for r in rows if r["connections"] == connections]
    rows += [
        r
        for r in summary
        if r["workers"] == 1
        and r["scenario"] == "grpc-native"
        and r["connections"] == connections
        and r["label"].startswith("modelship gRPC")
    ]
    rows.sort(key=lambda r: r["rps"])
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(rows) + 1.4))
    colors = [
        "tab:orange"
        if r["label"].startswith("modelship")
        else "tab:gray"
        if r["label"].startswith("raw")
        else "tab:blue"
        for r in rows
    ]
    hatches = ["//" if r["loadgen"] == "h2load" else "" for r in rows]
    bars = ax.barh([r["label"] for r in rows], [r["rps"] for r in rows], color=colors)
    for bar, hatch, row in zip(bars, hatches, rows, strict=True):
        bar.set_hatch(hatch)
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, f" {row['rps']:,.0f}",
                va="center", fontsize=7)  # fmt: skip
    ax.set_xlabel("req/s (median over rounds); hatched: gRPC (h2load), plain: REST (wrk)")
    ax.set_title(f"MNIST MLP, one row per request, 1 worker, {connections} connections", fontsize=9)
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def scenario_panels(summary: list[dict[str, Any]], titles: dict[str, str], path: Path) -> None:
    """One bar panel per (scenario, workers): every row at every connection count."""
    plt = _pyplot()
    panels = sorted({(r["scenario"], r["workers"]) for r in summary})
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 3.6 * len(panels)), squeeze=False)
    for ax, (name, workers) in zip(axes[:, 0], panels, strict=True):
        rows = [r for r in summary if r["scenario"] == name and r["workers"] == workers]
        labels = list(dict.fromkeys(r["label"] for r in rows))
        conns = sorted({r["connections"] for r in rows})
        width = 0.8 / max(len(labels), 1)
        for i, label in enumerate(labels):
            values = {r["connections"]: r["rps"] for r in rows if r["label"] == label}
            xs = [c + (i - len(labels) / 2 + 0.5) * width for c in range(len(conns))]
            ax.bar(xs, [values.get(c, 0) for c in conns], width, label=label)
        ax.set_xticks(range(len(conns)), [f"{c} conn" for c in conns])
        ax.set_ylabel("req/s (median)")
        ax.set_title(f"{titles.get(name, name)} — {workers} worker(s)", fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def batching_curves(figures: dict[str, Any], path: Path) -> bool:
    """Per model: onnxruntime's offline gain by batch size, and the point modelship reached
    with batching (served gain at the mean batch it formed). False without figures."""
    models = {
        name: data
        for name, data in figures.items()
        if isinstance(data, dict) and isinstance(data.get("offline_gain_by_batch"), dict)
    }
    if not models:
        return False
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.6), squeeze=False)
    for ax, (name, data) in zip(axes[0], models.items(), strict=True):
        curve = sorted((int(b), float(g)) for b, g in data["offline_gain_by_batch"].items())
        ax.plot([b for b, _ in curve], [g for _, g in curve], "o-", label="onnxruntime offline")
        served = data.get("encodings")
        served = served if isinstance(served, dict) else {"": data}
        for (encoding, point), marker in zip(served.items(), "sD^v", strict=False):
            batch, gain = point.get("mean_batch_formed"), point.get("served_gain")
            if isinstance(batch, int | float) and isinstance(gain, int | float):
                ax.plot([batch], [gain], marker, markersize=8,
                        label=f"served {encoding} (mean batch {batch:.1f})")  # fmt: skip
        ax.axhline(1.0, color="gray", linewidth=0.6)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("rows per runtime call")
        ax.set_ylabel("gain over batch 1 / unbatched")
        ax.set_title(f"{name}: gain from batching", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True
