"""Plausible ranges of typed values and dates: outside them a value is a typing error, refused with the range."""

import math
from datetime import date, datetime, timedelta

import pytest

from manufacturing.core import clock
from manufacturing.core.plausible import DEFAULT_FILE as PLAUSIBLE_FILE
from manufacturing.core.plausible import (
    Implausible,
    PlausibleError,
    date_problem,
    moment_problem,
    parse_plausible,
    ranges,
    read_typed,
)
from manufacturing.units import QuantityError


@pytest.mark.parametrize(("text", "unit", "field"), [
    ("1e308 mL", "mL", "apheresis.volume"), ("1e308 cells/mL", "cells/mL", None), ("1e308 °C", "°C", None),
    ("-1e308 °C", "°C", None), ("120 %", "%", None), ("1e30", None, None), ("2000 mL", "mL", "apheresis.volume"),
])
def test_an_absurd_value_is_refused_with_its_range(text, unit, field):
    with pytest.raises(Implausible, match=r"is outside the plausible range for .* to .*: check the entry"):
        read_typed(text, unit, field)


@pytest.mark.parametrize("text", ["inf mL", "nan mL", "1e400 mL", "-inf °C"])
def test_a_value_that_is_not_finite_is_refused(text):
    with pytest.raises(QuantityError):
        read_typed(text, text.split()[-1])


def test_minus_zero_is_read_as_zero():
    value = read_typed("-0 mL", "mL")
    assert value.magnitude == 0 and math.copysign(1, value.magnitude) == 1


def test_plausible_values_pass():
    assert read_typed("185 mL", "mL", "apheresis.volume").m_as("mL") == 185
    assert read_typed("-196 °C", "°C").magnitude == -196


def test_every_file_value_is_valid_and_every_kind_has_a_range():
    plausible = parse_plausible(PLAUSIBLE_FILE.read_bytes())
    assert len(plausible.kinds) == 18 and {"bench", "birth", "weighing", "validity", "search"} <= set(plausible.windows)
    assert ranges() == plausible


@pytest.mark.parametrize(("content", "message"), [
    (b'[quantities.volume]\nmin = "10 mL"\nmax = "1 mL"\n', "min not above max"),
    (b'[quantities.volume]\nmin = "0 mL"\nmax = "1 mL"\nmaximum = 3\n', "unknown key"),
    (b'[quantities.volume]\nmin = "0 mL"\nmax = "1 mL"\n', "no range for a cell count"),
])
def test_an_invalid_file_is_refused(content, message):
    with pytest.raises(PlausibleError, match=message):
        parse_plausible(content)


def test_a_window_needs_durations():
    with pytest.raises(PlausibleError, match="durations"):
        parse_plausible(PLAUSIBLE_FILE.read_bytes() + b'\n[dates.extra]\npast = "3 mL"\nfuture = "1 h"\n')


def test_dates_in_year_one_or_9999_are_not_plausible():
    today = clock.today()
    assert "not plausible as a date of birth" in date_problem(date(1, 1, 1), "birth")
    assert date_problem(date(1900, 1, 1), "birth") is None
    assert date_problem(date(9999, 12, 31), "validity") is not None
    assert date_problem(today + timedelta(days=365), "validity") is None
    assert moment_problem(datetime(1, 1, 1), "bench") is not None
    assert moment_problem(clock.now() + timedelta(hours=1), "bench") is not None
    assert moment_problem(clock.now() - timedelta(days=1), "bench") is None
