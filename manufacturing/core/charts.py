"""Charts drawn by matplotlib as SVG: the same picture on a page, in the batch record and in the trial report.

matplotlib is the field's plotting library; its SVG keeps text as text (legible at any size, searchable in a PDF).
It is imported only when a chart is drawn (it costs about half a second), and only its object interface is used
(no pyplot: no global state shared between threads). A chart is shown as an image (`data_uri`), so that its own
styles apply under the site's content security policy, on screen and in WeasyPrint alike.
"""

import base64
import io
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

FONT = ["DejaVu Sans"]
COLOURS = ("#1f5f8b", "#b5542c", "#3d8b3d", "#7b4f9d", "#a0802a", "#2a8c8c", "#8b1f5f", "#555555")
WIDTH_IN, HEIGHT_IN = 6.4, 3.0  # inches; text at 9 pt reads at 12 px or more on a 768 px wide tablet
LABEL_PT = 9
MARGINS = {"left": 0.13, "right": 0.97, "top": 0.95, "bottom": 0.16}  # of the figure, room for the axes' labels


@dataclass(frozen=True)
class Series:
    """One line of a chart: its label and its (x, y) points."""

    label: str
    points: Sequence[tuple[float, float]]


def _figure():
    from matplotlib import rcParams
    from matplotlib.figure import Figure

    rcParams["svg.fonttype"] = "none"  # text stays text
    rcParams["svg.hashsalt"] = "nk-gmp"  # the same chart gives the same bytes
    rcParams["font.family"] = FONT
    rcParams["font.size"] = LABEL_PT
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN))
    figure.subplots_adjust(**MARGINS)  # fixed margins: a constrained layout doubles the time of a chart
    return figure, figure.add_subplot()


def _svg(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def growth_svg(series: Sequence[Series], reference: tuple[float, float, float] | None = None) -> bytes | None:
    """Viable NK cells by culture day on a log scale, a line per lot; `reference`: (day, mean fold, sd) drawn as a
    bar of fold expansion from the cells seeded (the median seeding when there are several lots). None without a
    line of two points."""
    lines = [line for line in series if len([y for _, y in line.points if y > 0]) >= 2]
    if not lines:
        return None
    figure, axes = _figure()
    for number, line in enumerate(lines):
        xs, ys = zip(*[(x, y) for x, y in line.points if y > 0], strict=True)
        axes.plot(xs, ys, marker="o", markersize=4, linewidth=1.8, color=COLOURS[number % len(COLOURS)],
                  label=line.label)
    if reference is not None:
        day, mean, sd = reference
        start = statistics.median(line.points[0][1] for line in lines)
        axes.errorbar([day], [start * mean], yerr=[[start * sd], [start * sd]], fmt="s", color="#888888",
                      capsize=4, label=f"reference {mean:g} ± {sd:g}-fold")
    axes.set_yscale("log")
    axes.set_xlabel("culture day")
    axes.set_ylabel("viable NK cells")
    axes.grid(True, which="major", color="#e3e8ed")
    if len(lines) > 1 or reference is not None:
        axes.legend(fontsize=LABEL_PT - 1, loc="upper left")
    return _svg(figure)


def dots_svg(labels: Sequence[str], values: Sequence[float], unit: str, reference: tuple[float, float | None],
             title: str) -> bytes | None:
    """One value per lot beside a reference (mean, and sd when it has one, drawn as a band)."""
    shown = [(label, value) for label, value in zip(labels, values, strict=True) if value is not None
             and math.isfinite(value)]
    if not shown:
        return None
    figure, axes = _figure()
    mean, sd = reference
    if sd:
        axes.axhspan(mean - sd, mean + sd, color="#e3eef6", label=f"reference {mean:g} ± {sd:g}")
    axes.axhline(mean, color="#888888", linestyle="--", linewidth=1, label=None if sd else f"reference {mean:g}")
    axes.plot(range(len(shown)), [value for _, value in shown], "o", color=COLOURS[0], markersize=6)
    crowded = len(shown) > 6
    axes.set_xticks(range(len(shown)), [label for label, _ in shown], rotation=30 if crowded else 0,
                    ha="right" if crowded else "center", rotation_mode="anchor", fontsize=LABEL_PT - 1)
    if crowded:
        figure.subplots_adjust(bottom=MARGINS["bottom"] + 0.1)  # room for the slanted names
    axes.margins(x=0.15)
    axes.set_ylabel(f"{title} ({unit})" if unit else title)
    axes.legend(fontsize=LABEL_PT - 1, loc="best")
    axes.grid(True, axis="y", color="#e3e8ed")
    return _svg(figure)


def data_uri(svg: bytes | None) -> str:
    """An SVG as the source of an <img>."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg or b"").decode("ascii")
