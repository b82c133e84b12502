"""ASM values in the one registry: "10^6 cells/mL" scaled exactly, "%" as percent, anything else refused."""

import math

import pytest

from manufacturing.instruments.asm_units import UnknownUnit, asm_quantity
from manufacturing.units import Q_, ureg


@pytest.mark.parametrize(("datum", "expected"), [
    ({"value": 1.5, "unit": "10^6 cells/mL"}, Q_(1.5e6, "cell / milliliter")),
    ({"value": 0.78, "unit": "10^6 cells/mL"}, Q_(780000.0, "cell / milliliter")),
    ({"value": 4.753276, "unit": "10^6 cells/mL"}, Q_(4753276.0, "cell / milliliter")),
    ({"value": 2, "unit": "10^5 cells/mL"}, Q_(200000.0, "cell / milliliter")),
    ({"value": 250000, "unit": "cell/mL"}, Q_(250000.0, "cell / milliliter")),
    ({"value": 250000, "unit": "cells/mL"}, Q_(250000.0, "cell / milliliter")),
    ({"value": 96.9, "unit": "%"}, Q_(96.9, "percent")),
])
def test_asm_values_become_quantities_of_the_registry(datum, expected):
    quantity = asm_quantity(datum)
    assert quantity.units == expected.units and quantity.magnitude == expected.magnitude
    assert quantity._REGISTRY is ureg


def test_a_percentage_is_a_hundredth():
    assert asm_quantity({"value": 96.9, "unit": "%"}).to("dimensionless").magnitude == pytest.approx(0.969)


@pytest.mark.parametrize("value", [None, "NaN", math.nan, math.inf, True, "96.9"])
def test_a_missing_number_gives_no_value(value):
    assert asm_quantity({"value": value, "unit": "%"}) is None


@pytest.mark.parametrize("unit", ["(unitless)", "µm", "cells/µL", "10^6 cells/L", "Counts", ""])
def test_a_unit_the_reader_does_not_know_is_refused(unit):
    with pytest.raises(UnknownUnit):
        asm_quantity({"value": 1.0, "unit": unit})


def test_a_concentration_beyond_floats_is_refused():
    with pytest.raises(ValueError, match="beyond any concentration"):
        asm_quantity({"value": 1e308, "unit": "10^6 cells/mL"})
