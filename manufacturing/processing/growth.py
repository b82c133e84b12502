"""The growth curve of a lot: viable NK cells by culture day on a log scale, drawn by the site's one chart library."""

from dataclasses import dataclass
from functools import lru_cache

from manufacturing.core.charts import Series, growth_svg
from manufacturing.units import Q_, format_quantity

CHARTS_KEPT = 256  # curves kept drawn per worker (about 20 KB each)


@dataclass(frozen=True)
class Chart:
    """The curve as an SVG image, and the same points in words (the image's text alternative)."""

    svg: bytes
    description: str


def growth_chart(points: list[tuple[int, float]]) -> Chart | None:
    """Draw (culture day, viable NK) points; None without two points."""
    return _drawn(tuple((day, cells) for day, cells in points if cells > 0))


@lru_cache(maxsize=CHARTS_KEPT)
def _drawn(shown: tuple[tuple[int, float], ...]) -> Chart | None:
    """A curve is drawn once per worker (a chart takes about 0.15 s): a page built again reuses it."""
    svg = growth_svg([Series("viable NK cells", shown)])
    if svg is None:
        return None
    words = ", ".join(f"day {day} {format_quantity(Q_(cells, 'cell'))}" for day, cells in shown)
    return Chart(svg, f"Growth curve, viable NK cells by culture day (log scale): {words}")
