"""Compare a value with a limit the way every specification check does: exactly, but for float rounding."""

import math
from collections.abc import Callable


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


HOLDS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda v, limit: v >= limit or _close(v, limit),
    "<=": lambda v, limit: v <= limit or _close(v, limit),
    ">": lambda v, limit: v > limit and not _close(v, limit),
    "<": lambda v, limit: v < limit and not _close(v, limit),
}
