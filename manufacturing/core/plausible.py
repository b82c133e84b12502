"""Plausible ranges of typed values and dates (specs/plausible.toml): outside them a value is a typing error."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context

from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from manufacturing.units import Quantity, QuantityError, dimension_name, format_limit, parse_quantity, same_dimension

DEFAULT_FILE = Path(__file__).resolve().parents[2] / "specs" / "plausible.toml"
FILE_NAME = DEFAULT_FILE.name
KINDS_NEEDED = ("mL", "cells", "cells/mL", "cells/kg", "kg", "mg/mL", "%", "log", "", "IU", "IU/mL", "EU",
                "EU/mL", "EU/kg", "EU/kg/h", "mL/h", "°C", "h")


class PlausibleError(DomainError):
    """The file of plausible ranges is invalid."""


class Implausible(QuantityError):
    """A typed value or date lies outside its plausible range: a typing error."""


@dataclass(frozen=True)
class Range:
    minimum: Quantity
    maximum: Quantity
    name: str | None = None  # what the value is, e.g. "an adult"; else its kind, e.g. "a volume"

    def refusal(self, quantity: Quantity, text: str) -> str | None:
        """Say why a value lies outside the range, or None."""
        if self.minimum <= quantity.to(self.minimum.units) <= self.maximum:
            return None
        return (f"{text.strip()} is outside the plausible range for {self.name or dimension_name(quantity)} "
                f"({format_limit(self.minimum)} to {format_limit(self.maximum)}): check the entry.")


@dataclass(frozen=True)
class Window:
    name: str
    past: timedelta
    future: timedelta
    earliest: date | None = None

    def dates(self, today: date) -> tuple[date, date]:
        """The first and last plausible day."""
        first = today - timedelta(days=self.past.days)
        return max(first, self.earliest or first), today + timedelta(days=self.future.days)

    def moments(self, now: datetime) -> tuple[datetime, datetime]:
        """The first and last plausible moment (naive when `now` is naive site time)."""
        first = now - self.past
        if self.earliest is not None:
            first = max(first, datetime.combine(self.earliest, datetime.min.time(), tzinfo=now.tzinfo))
        return first, now + self.future


@dataclass(frozen=True)
class Plausible:
    kinds: tuple[Range, ...]
    fields: dict[str, Range]
    windows: dict[str, Window]


def _refuse_unknown(table: dict, known: set[str], where: str) -> None:
    for key in table:
        if key not in known:
            raise PlausibleError(f"{FILE_NAME}: {where}.{key}: unknown key")


def _quantity(table: dict, key: str, where: str) -> Quantity:
    text = table.get(key)
    if not isinstance(text, str):
        raise PlausibleError(f"{FILE_NAME}: {where}.{key}: a quantity written as text is required")
    try:
        return parse_quantity(text)
    except QuantityError as error:
        raise PlausibleError(f"{FILE_NAME}: {where}.{key}: {error.message}") from None


def _range(table: dict, where: str) -> Range:
    _refuse_unknown(table, {"min", "max", "name"}, where)
    low, high = _quantity(table, "min", where), _quantity(table, "max", where)
    if not same_dimension(low, high) or low > high:
        raise PlausibleError(f"{FILE_NAME}: {where}: min and max must be of one kind, min not above max")
    return Range(low, high, table.get("name"))


def _window(table: dict, where: str) -> Window:
    _refuse_unknown(table, {"name", "past", "future", "earliest"}, where)
    spans = [_quantity(table, key, where) for key in ("past", "future")]
    if not all(same_dimension(span, "h") for span in spans):
        raise PlausibleError(f"{FILE_NAME}: {where}: past and future are durations, e.g. \"730 d\"")
    earliest = table.get("earliest")
    if earliest is not None and (not isinstance(earliest, date) or isinstance(earliest, datetime)):
        raise PlausibleError(f"{FILE_NAME}: {where}.earliest: a date (e.g. 1900-01-01) is required")
    past, future = (timedelta(hours=span.m_as("hour")) for span in spans)
    return Window(str(table.get("name") or where), past, future, earliest)


def parse_plausible(content: bytes) -> Plausible:
    """Read and validate the ranges; every lab kind of quantity must have one."""
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise PlausibleError(f"{FILE_NAME}: not a valid TOML file: {error}") from None
    _refuse_unknown(data, {"quantities", "fields", "dates"}, "")
    kinds = tuple(_range(table, f"quantities.{key}") for key, table in data.get("quantities", {}).items())
    for unit in KINDS_NEEDED:
        if not any(same_dimension(kind.minimum, unit) for kind in kinds):
            raise PlausibleError(f"{FILE_NAME}: quantities: no range for {dimension_name(unit)}")
    fields = {key: _range(table, f"fields.{key}") for key, table in data.get("fields", {}).items()}
    windows = {key: _window(table, f"dates.{key}") for key, table in data.get("dates", {}).items()}
    return Plausible(kinds, fields, windows)


@lru_cache(maxsize=8)
def _load(path: str) -> Plausible:
    return parse_plausible(Path(path).read_bytes())


def ranges() -> Plausible:
    """The plausible ranges in use (the application's PLAUSIBLE_FILE, else the file of the package)."""
    configured = current_app.config.get("PLAUSIBLE_FILE") if has_app_context() else None
    return _load(str(configured or DEFAULT_FILE))


def range_of(quantity: Quantity, field: str | None = None) -> Range:
    """The plausible range of a field (when it has its own), else of the value's kind."""
    plausible = ranges()
    if field in plausible.fields and same_dimension(plausible.fields[field].minimum, quantity):
        return plausible.fields[field]
    return next(kind for kind in plausible.kinds if same_dimension(kind.minimum, quantity))


def refuse_implausible(quantity: Quantity, text: str, field: str | None = None) -> Quantity:
    """Return a value read from `text`; refuse it outside the plausible range of its field or kind."""
    if problem := range_of(quantity, field).refusal(quantity, text):
        raise Implausible(problem)
    return quantity


def read_typed(text: str, expected_unit: str | None = None, field: str | None = None,
               label: str | None = None, unit_printed: bool = False) -> Quantity:
    """Read a typed value (units.parse_quantity) and refuse it outside its plausible range.

    `label`: the field's name as the form shows it, put before a refusal so that it says which field is wrong;
    `unit_printed`: the form prints the field's unit, so a bare number is read in it.
    """
    try:
        return refuse_implausible(parse_quantity(text, expected_unit, unit_printed), text, field)
    except QuantityError as error:
        if label is None:
            raise
        raise type(error)(f"{label}: {error.message}") from None


def window(kind: str) -> Window:
    """The plausible window of a kind of date (bench, birth, weighing, validity, planning, record, search)."""
    return ranges().windows[kind]


def date_problem(day: date, kind: str) -> str | None:
    """Say why a date lies outside its plausible window, or None."""
    first, last = window(kind).dates(clock.today())
    if first <= day <= last:
        return None
    return (f"{day.isoformat()} is not plausible as {window(kind).name} "
            f"(from {first.isoformat()} to {last.isoformat()}): check the year")


def moment_problem(moment: datetime, kind: str) -> str | None:
    """Say why a date and time lies outside its plausible window, or None; a naive one is site time."""
    now = clock.now() if moment.tzinfo else clock.to_local(clock.now()).replace(tzinfo=None)
    first, last = window(kind).moments(now)
    if first <= moment <= last:
        return None
    shown = [value.isoformat(sep=" ", timespec="minutes") if value.tzinfo is None else clock.format_local(value)
             for value in (moment, first, last)]
    return (f"{shown[0]} is not plausible as {window(kind).name} "
            f"(from {shown[1]} to {shown[2]}): check the date and time")

