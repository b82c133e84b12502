"""The one unit registry of the application: lab units, safe parsing, lab formatting, storage."""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import pint
from sqlalchemy.types import String, TypeDecorator

from manufacturing.config import INSTANCE_DIR
from manufacturing.core.errors import DomainError

UNIT_CACHE = INSTANCE_DIR / "unit-cache"



def _registry() -> pint.UnitRegistry:
    """pint's registry, its definitions read from a cache under instance/ (a fifth of a second at every start);
    read afresh where the cache cannot serve (a folder that cannot be written, a file another process is
    still writing: any error of the cache)."""
    try:
        UNIT_CACHE.mkdir(parents=True, exist_ok=True)
        return pint.UnitRegistry(cache_folder=UNIT_CACHE)
    except Exception:  # the cache only saves time: without it the registry is read as it always was
        return pint.UnitRegistry()


ureg = _registry()
ureg.define("cell = [cell_count] = cells")
ureg.define("international_unit = [biological_activity] = IU")
ureg.define("endotoxin_unit = [endotoxin] = EU")
ureg.define("log10_reduction = [] = log")
pint.set_application_registry(ureg)
Q_ = ureg.Quantity
Quantity = pint.Quantity
Unit = pint.Unit


class QuantityError(DomainError):
    """An entered value could not be read as a quantity of the expected kind."""


# Lab label, ASCII label, pint unit (our own fixed strings), other accepted spellings.
_LAB_UNITS = (
    ("mL", "mL", "milliliter", ("millilitre", "milliliter")),
    ("L", "L", "liter", ("litre", "liter")),
    ("µL", "uL", "microliter", ()),
    ("cells", "cells", "cell", ("cell",)),
    ("cells/mL", "cells/mL", "cell / milliliter", ("/mL", "cell/mL")),
    ("cells/µL", "cells/uL", "cell / microliter", ("/uL", "cell/uL")),
    ("cells/L", "cells/L", "cell / liter", ("/L",)),
    ("cells/kg", "cells/kg", "cell / kilogram", ("/kg", "cell/kg")),
    ("%", "%", "percent", ("percent",)),
    ("log", "log", "log10_reduction", ("log10",)),
    ("", "", "dimensionless", ("dimensionless", "fold")),
    ("kg", "kg", "kilogram", ()),
    ("g", "g", "gram", ()),
    ("mg", "mg", "milligram", ()),
    ("µg", "ug", "microgram", ()),
    ("mg/mL", "mg/mL", "milligram / milliliter", ()),
    ("g/L", "g/L", "gram / liter", ()),
    ("µg/mL", "ug/mL", "microgram / milliliter", ()),
    ("ng/mL", "ng/mL", "nanogram / milliliter", ()),
    ("IU", "IU", "international_unit", ()),
    ("IU/mL", "IU/mL", "international_unit / milliliter", ()),
    ("EU", "EU", "endotoxin_unit", ()),
    ("EU/mL", "EU/mL", "endotoxin_unit / milliliter", ()),
    ("EU/kg", "EU/kg", "endotoxin_unit / kilogram", ()),
    ("EU/kg/h", "EU/kg/h", "endotoxin_unit / kilogram / hour", ()),
    ("mL/h", "mL/h", "milliliter / hour", ()),
    ("°C", "degC", "degree_Celsius", ("ºC",)),
    ("h", "h", "hour", ("hr", "hrs", "hour", "hours")),
    ("min", "min", "minute", ("mins", "minute", "minutes")),
    ("d", "d", "day", ("day", "days")),
)


def _spelling_key(text: str) -> str:
    """Normalise a unit spelling for lookup: no spaces, ASCII micro, lower case."""
    return re.sub(r"\s+", "", text).replace("µ", "u").replace("μ", "u").replace("º", "°").lower()


_UNITS: dict[str, pint.Unit] = {}
_LABELS: dict[pint.Unit, tuple[str, str]] = {}
for _label, _plain, _pint_name, _others in _LAB_UNITS:
    _unit = ureg.Unit(_pint_name)
    _LABELS[_unit] = (_label, _plain)
    for _spelling in (_label, _plain, _pint_name, *_others):
        _UNITS[_spelling_key(_spelling)] = _unit
del _label, _plain, _pint_name, _others, _unit, _spelling

_CELLS, _ML = _UNITS["cells"], _UNITS["ml"]
_DIMENSIONLESS = _UNITS["dimensionless"]
_SPECIAL_RATIOS = {"percent": "percentage", "log10_reduction": "log"}


@lru_cache(maxsize=256)
def _kind(unit: pint.Unit) -> str:
    """Return the lab kind of a unit: its dimensionality, with %, log and plain numbers kept apart."""
    if unit.dimensionless:
        return _SPECIAL_RATIOS.get(str(unit), "number")
    return str(unit.dimensionality)


_DIMENSION_NAMES = {
    _kind(_UNITS[_spelling_key(spelling)]): name
    for spelling, name in (
        ("mL", "a volume"),
        ("cells", "a cell count"),
        ("cells/mL", "a cell concentration"),
        ("cells/kg", "a dose per kg body weight"),
        ("kg", "a mass"),
        ("mg/mL", "a mass concentration"),
        ("%", "a percentage"),
        ("log", "a log reduction"),
        ("", "a number"),
        ("IU", "an amount of cytokine"),
        ("IU/mL", "a cytokine concentration"),
        ("EU", "an amount of endotoxin"),
        ("EU/mL", "an endotoxin concentration"),
        ("EU/kg", "an endotoxin dose per kg body weight"),
        ("EU/kg/h", "an endotoxin dose per kg body weight per hour"),
        ("mL/h", "a flow rate"),
        ("°C", "a temperature"),
        ("h", "a time"),
    )
}
_UNIT_EXAMPLES = "e.g. mL, cells/mL, %, kg, h"
_EXAMPLES = {
    "cells": "2.5 × 10⁸", "cells/mL": "2.5 × 10⁶", "cells/kg": "1.0 × 10⁶", "%": "96", "kg": "64.5",
    "mL": "185", "°C": "37", "h": "24", "min": "30", "d": "28", "IU/mL": "500", "EU/mL": "0.5",
}


def lab_unit(spelling: str) -> pint.Unit:
    """Return the unit for one of the lab's unit spellings (e.g. "cells/mL"); refuse any other."""
    unit = _UNITS.get(_spelling_key(spelling))
    if unit is None:
        raise QuantityError(f"{spelling.strip()!r} is not a unit the lab uses ({_UNIT_EXAMPLES})")
    return unit


def _as_unit(unit_or_quantity: pint.Unit | pint.Quantity | str) -> pint.Unit:
    """Return the unit of a quantity, a unit, or a lab unit spelling."""
    if isinstance(unit_or_quantity, str):
        return lab_unit(unit_or_quantity)
    if isinstance(unit_or_quantity, pint.Quantity):
        return unit_or_quantity.units
    return unit_or_quantity


def dimension_name(unit_or_quantity: pint.Unit | pint.Quantity | str) -> str:
    """Name the kind of a unit or quantity in the lab's words, e.g. "a cell concentration"."""
    unit = _as_unit(unit_or_quantity)
    kind = _kind(unit)
    return _DIMENSION_NAMES.get(kind, f"a quantity in {unit_label(unit)}")


def same_dimension(a: pint.Unit | pint.Quantity | str, b: pint.Unit | pint.Quantity | str) -> bool:
    """Tell whether two units or quantities are of the same lab kind (% and log are not plain numbers)."""
    return _kind(_as_unit(a)) == _kind(_as_unit(b))


def unit_label(unit: pint.Unit | pint.Quantity | str, plain: bool = False) -> str:
    """Return the lab symbol of a unit (mL, cells/mL, %, °C); plain gives ASCII (uL, degC)."""
    unit = _as_unit(unit)
    labels = _LABELS.get(unit)
    if labels is not None:
        return labels[1] if plain else labels[0]
    return f"{unit:~C}" if plain else f"{unit:~P}"


def magnitude_in(quantity: pint.Quantity, unit: pint.Unit) -> float:
    """Return a quantity's magnitude in a unit: as it is when already in that unit, else converted by pint."""
    if quantity.units == unit:
        return float(quantity.magnitude)
    return float(quantity.m_as(unit))


def to_lab_unit(quantity: pint.Quantity, spelling: str) -> pint.Quantity:
    """Convert a quantity to one of the lab's units, e.g. to_lab_unit(q, "mL")."""
    return quantity.to(lab_unit(spelling))


# ---- parsing -------------------------------------------------------------------------------

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻", "0123456789+-")
_POWER = r"10(?:\s*(?:\^|\*\*)\s*(?P<{0}>[+-]?\d{{1,4}})|(?P<{0}_sup>[⁺⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]{{1,4}}))"
_NUMBER = re.compile(  # a bare power of ten first ("10^6/kg"), else mantissa, e-notation or "× 10^n"
    r"(?:"
    + _POWER.format("p2")
    + r"|(?P<mantissa>[+-]?[\d.,]+)(?:[eE](?P<e>[+-]?\d{1,4}))?(?:\s*[x×X·*]\s*"
    + _POWER.format("p1")
    + r")?)\s*(?P<unit>.*)",
    re.DOTALL,
)
_MAX_LENGTH = 80


def _read_mantissa(token: str, text: str) -> Decimal:
    """Read the digits of a number; a decimal comma only where it cannot be a thousands separator."""
    ambiguous = QuantityError(
        f"{text} is ambiguous: write the number without thousands separators and with a decimal point "
        "(e.g. 1234.5)"
    )
    if ("," in token and "." in token) or token.count(",") > 1 or token.count(".") > 1:
        raise ambiguous
    if "," in token:
        if re.fullmatch(r"[+-]?[1-9]\d{0,2},\d{3}", token):
            raise ambiguous
        token = token.replace(",", ".")
    if not re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)", token):
        raise QuantityError(f"{text} is not a number")
    return Decimal(token)


def _read_number(match: re.Match[str], text: str) -> Decimal:
    """Return the exact value written: mantissa × 10^exponent."""
    mantissa = Decimal(1) if match["mantissa"] is None else _read_mantissa(match["mantissa"], text)
    exponent = 0
    for group in ("e", "p1", "p2", "p1_sup", "p2_sup"):
        if match[group] is not None:
            exponent += int(match[group].translate(_SUPERSCRIPTS))
    try:
        return mantissa.scaleb(exponent)
    except InvalidOperation as exc:  # pragma: no cover - exponent is bounded by the pattern
        raise QuantityError(f"{text} is not a number") from exc


def _example(expected: pint.Unit) -> str:
    """Return an example entry for the expected unit, e.g. "185 mL"."""
    label = unit_label(expected)
    return f"{_EXAMPLES.get(label, '1')} {label}".strip()


def _entered_unit(unit_text: str, expected: pint.Unit | None, text: str, unit_printed: bool) -> pint.Unit:
    """Return the unit written after the number, or the one implied when none is written."""
    if unit_text:
        unit = _UNITS.get(_spelling_key(unit_text))
        if unit is None:
            raise QuantityError(f"{text}: {unit_text!r} is not a unit the lab uses ({_UNIT_EXAMPLES})")
        return unit
    if unit_printed and expected is not None:
        return expected
    if expected is None or same_dimension(expected, _DIMENSIONLESS) or same_dimension(expected, "log"):
        return _DIMENSIONLESS if expected is None else expected
    if same_dimension(expected, _CELLS):
        return _CELLS
    raise QuantityError(f"{text}: add the unit, e.g. {_example(expected)}")


def parse_quantity(text: str, expected_unit: str | None = None, unit_printed: bool = False) -> pint.Quantity:
    """Read a value as technicians type it ("2.5 x 10^6 cells/mL", "185 mL", "96 %"), never via eval.

    The unit entered is kept. `expected_unit` is a lab unit spelling the value must be of the same
    kind as; None accepts any lab unit (a bare number is then a plain number). A bare number is
    accepted for cell counts (cells implied) and plain numbers or logs; in a field that prints its
    unit beside it (`unit_printed`: "Unit: %" on the step form) it is read in that unit. Elsewhere a
    percentage needs its % sign and a weight or volume its unit, so that 0.96 and 96, or kg and lb,
    cannot be confused where the page does not say which is meant.
    """
    expected = None if expected_unit is None else lab_unit(expected_unit)
    text = (text or "").strip().replace("\u2212", "-").replace("\u00a0", " ").replace("\u202f", " ")
    if not text:
        raise QuantityError(f"Enter a value, e.g. {_example(expected or _ML)}")
    if len(text) > _MAX_LENGTH:
        raise QuantityError(f"{text[:20]}...: a value may have at most {_MAX_LENGTH} characters")
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise QuantityError(f"{text} does not start with a number (e.g. {_example(expected or _ML)})")
    value = _read_number(match, text)
    unit = _entered_unit(match["unit"].strip(), expected, text, unit_printed)
    if expected is not None and not same_dimension(unit, expected):
        wanted = dimension_name(expected) + (f" ({unit_label(expected)})" if unit_label(expected) else "")
        raise QuantityError(f"{text} is {dimension_name(unit)}, but {wanted} is expected here")
    magnitude = float(value) + 0.0  # -0 is read as 0
    if not math.isfinite(magnitude):
        raise QuantityError(f"{text} is too large")
    if magnitude == 0 and value != 0:
        raise QuantityError(f"{text} is too small")
    if magnitude < 0 and not same_dimension(unit, "°C"):
        raise QuantityError(f"{text}: {dimension_name(unit)} cannot be negative")
    return Q_(magnitude, unit)


# ---- formatting ----------------------------------------------------------------------------

_TO_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_LOG_DECIMALS = 2  # log reductions to two decimals ("4.30 log"), so 1.97 never reads as 2.0


def round_significant(value: float, digits: int) -> float:
    """Round a number to a count of significant digits."""
    return float(f"{value:.{digits - 1}e}")


def _exact_digits(value: float) -> int:
    """Return the fewest significant digits that show a number exactly (at most 15)."""
    for digits in range(1, 16):
        if round_significant(value, digits) == value:
            return digits
    return 15


def _format_number(value: float, digits: int, scientific: bool, plain: bool) -> str:
    """Write a number with significant digits, as a × 10ⁿ or as a plain decimal."""
    mantissa, _, exponent = f"{value:.{digits - 1}e}".partition("e")
    if scientific:
        power = str(int(exponent))
        return f"{mantissa} x 10^{power}" if plain else f"{mantissa} × 10{power.translate(_TO_SUPERSCRIPT)}"
    return _unpadded(format(Decimal(f"{mantissa}e{exponent}"), "f"))


def _unpadded(decimal: str) -> str:
    """Drop the zeros that pad a small number past its second decimal ("0.0500" -> "0.05", "0.500" -> "0.50")."""
    whole, point, decimals = decimal.partition(".")
    if len(decimals) <= 2:
        return decimal
    return f"{whole}{point}{decimals[:2]}{decimals[2:].rstrip('0')}"


def shown_magnitude(quantity: pint.Quantity, digits: int | None = None) -> float:
    """Return the magnitude rounded as format_quantity shows it."""
    value = float(quantity.magnitude)
    if digits is None and _kind(quantity.units) == "log":
        return round(value, _LOG_DECIMALS)
    return round_significant(value, digits or 3)


@lru_cache(maxsize=256)
def _unit_shown(unit: pint.Unit) -> tuple[str, str, str]:
    """The lab symbol, its ASCII form and the kind of a unit, found once per unit (pages format hundreds)."""
    return unit_label(unit), unit_label(unit, plain=True), _kind(unit)


def format_quantity(quantity: pint.Quantity, plain: bool = False, digits: int | None = None) -> str:
    """Render a quantity the way the lab reads it: "2.35 × 10⁸ cells", "13.6 mL", "96.0 %".

    Three significant digits by default (log reductions: two decimals, "4.30 log"), without zeros that only
    pad a small number past its second decimal ("0.05 %", not "0.0500 %"); cell counts, concentrations and
    doses from 10³ up ("4.12 × 10³ cells/kg", not "4120"), and other values from 10⁶ up or below 10⁻³, in
    scientific notation.
    plain=True gives ASCII for PDFs and CSV ("2.35 x 10^8 cells").
    """
    value = float(quantity.magnitude)
    label, plain_label, kind = _unit_shown(quantity.units)
    label = plain_label if plain else label
    size = abs(value)
    if digits is None and kind == "log":
        number = f"{value:.{_LOG_DECIMALS}f}"
    else:
        cellular = "[cell_count]" in kind
        scientific = size >= 1e3 if cellular else (size >= 1e6 or 0 < size < 1e-3)
        number = _format_number(value, digits or 3, scientific, plain)
    return f"{number} {label}" if label else number


def format_limit(quantity: pint.Quantity, plain: bool = False) -> str:
    """Render a specification limit as written, without padding zeros: "70 %", "1 × 10⁸ cells/kg"."""
    return format_quantity(quantity, plain, _exact_digits(float(quantity.magnitude)))


# ---- storage -------------------------------------------------------------------------------

_STORED = re.compile(r"(?P<magnitude>[+-]?\d+(?:\.\d*)?(?:e[+-]?\d+)?) (?P<unit>[a-zA-Z_0-9 /*]+)")


@lru_cache(maxsize=256)
def _stored_unit(text: str) -> pint.Unit:
    """Return the unit of a stored value (written only by quantity_to_text)."""
    return ureg.Unit(text)


@lru_cache(maxsize=256)
def _unit_text(units: pint.Unit) -> str:
    """A unit as stored ("cell / milliliter"): written once per unit, as signatures hash every stored quantity."""
    return f"{units:D}"


def quantity_to_text(quantity: pint.Quantity) -> str:
    """Write a quantity as "<shortest exact decimal> <pint unit>", e.g. "2500000.0 cell / milliliter"."""
    if not isinstance(quantity, pint.Quantity):
        raise TypeError(f"a pint quantity is needed, not {type(quantity).__name__}")
    magnitude = float(quantity.magnitude)
    if not math.isfinite(magnitude):
        raise ValueError(f"cannot store a value that is not finite: {magnitude}")
    text = f"{magnitude!r} {_unit_text(quantity.units)}"
    if len(text) > 64:
        raise ValueError(f"stored quantity longer than 64 characters: {text}")
    return text


def quantity_from_text(text: str) -> pint.Quantity:
    """Read back a quantity written by quantity_to_text."""
    match = _STORED.fullmatch(text)
    if match is None:
        raise ValueError(f"not a stored quantity: {text!r}")
    return Q_(float(match["magnitude"]), _stored_unit(match["unit"]))


class QuantityType(TypeDecorator):
    """A column holding a pint quantity as text: exact magnitude and unit."""

    impl = String(64)
    cache_ok = True

    def __repr__(self) -> str:
        return "QuantityType()"

    def process_bind_param(self, value, dialect):
        return None if value is None else quantity_to_text(value)

    def process_result_value(self, value, dialect):
        return None if value is None else quantity_from_text(value)
