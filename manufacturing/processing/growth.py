"""The growth curve as numbers for an SVG drawn on the server (log scale of viable NK cells)."""

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 20, 40


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    points: list[tuple[float, float, int, float]]  # x, y, day, cells
    x_ticks: list[tuple[float, int]]
    y_ticks: list[tuple[float, str]]

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)


def _superscript(exponent: int) -> str:
    return str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def growth_chart(points: list[tuple[int, float]]) -> Chart | None:
    """Place (culture day, viable NK) points on a log-scale chart; None without two points."""
    points = [(day, cells) for day, cells in points if cells > 0]
    if len(points) < 2:
        return None
    last_day = max(max(day for day, _ in points), 1)
    low = math.floor(math.log10(min(cells for _, cells in points)))
    high = max(math.ceil(math.log10(max(cells for _, cells in points))), low + 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day: float) -> float:
        return LEFT + plot_w * day / last_day

    def y(cells: float) -> float:
        return TOP + plot_h * (high - math.log10(cells)) / (high - low)

    step = max(1, math.ceil(last_day / 10))
    return Chart(
        WIDTH, HEIGHT,
        points=[(x(day), y(cells), day, cells) for day, cells in points],
        x_ticks=[(x(day), day) for day in range(0, last_day + 1, step)],
        y_ticks=[(y(10 ** e), f"10{_superscript(e)}") for e in range(low, high + 1)],
    )
