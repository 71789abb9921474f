"""Small inline SVG line charts: the points of a polyline, drawn by the template."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Chart", "chart"]

WIDTH, HEIGHT = 240, 48


@dataclass(frozen=True)
class Chart:
    """A polyline's ``points`` in a ``WIDTH`` x ``HEIGHT`` box, and the values it shows."""

    points: str
    last: float
    top: float
    count: int
    width: int = WIDTH
    height: int = HEIGHT


def chart(values: Sequence[float], floor_top: float = 0.0) -> Chart:
    """The chart of ``values`` (oldest first), scaled to their maximum (at least
    ``floor_top``, so a quiet line stays low rather than filling the box)."""
    if not values:
        return Chart("", 0.0, floor_top, 0)
    top = max(max(values), floor_top, 1e-9)
    step = WIDTH / max(len(values) - 1, 1)
    points = " ".join(
        f"{i * step:.1f},{HEIGHT - 2 - (HEIGHT - 4) * min(v, top) / top:.1f}"
        for i, v in enumerate(values)
    )
    return Chart(points, values[-1], top, len(values))
