"""Values of the Allotrope Simple Model (ASM) as quantities of the one unit registry."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from manufacturing.units import Q_, Quantity

# ASM's unit spellings: the unit of the registry and the power of ten the value is in ("10^6 cells/mL").
_CONCENTRATION = re.compile(r"(?:10\^(?P<power>\d{1,2})\s*)?cells?\s*/\s*mL")
_UNITS = {"%": "percent", "percent": "percent"}


class UnknownUnit(ValueError):
    """ASM wrote a value in a unit this reader does not know."""


def asm_quantity(datum: dict) -> Quantity | None:
    """Read an ASM value ({"value": 0.78, "unit": "10^6 cells/mL"}): None when the instrument gave no number."""
    value, unit = datum.get("value"), str(datum.get("unit", ""))
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    if unit in _UNITS:
        return Q_(float(value), _UNITS[unit])
    match = _CONCENTRATION.fullmatch(unit.strip())
    if match is None:
        raise UnknownUnit(unit)
    magnitude = float(Decimal(repr(value)).scaleb(int(match["power"] or 0)))
    if not math.isfinite(magnitude):
        raise ValueError(f"{value} {unit} is beyond any concentration")
    return Q_(magnitude, "cell / milliliter")
