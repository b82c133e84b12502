"""The dose rules: never above any maximum per kg (the stricter holds), within the tolerance of the target."""

import dataclasses
from pathlib import Path

import pytest

from manufacturing.specifications.dose_limits import dose_maxima, exceeded_maximum, within_tolerance
from manufacturing.specifications.evaluation import DoseContext, Outcome, evaluate
from manufacturing.specifications.loader import load_spec
from manufacturing.units import Q_

SPECS = Path(__file__).resolve().parents[2] / "specs"
PRODUCT = load_spec(SPECS / "nk-cells-autologous.toml")
STUDY = load_spec(SPECS / "study-nct02185781.toml")
TOLERANCE = (Q_(80, "%"), Q_(120, "%"))


def per_kg(magnitude: float):
    return Q_(magnitude, "cells/kg")


def test_the_maxima_are_the_products_and_every_studys():
    assert dose_maxima(PRODUCT, [STUDY]) == [PRODUCT.max_dose_per_kg, STUDY.max_dose_per_kg]
    assert dose_maxima(PRODUCT, []) == [PRODUCT.max_dose_per_kg]


def test_a_dose_at_the_maximum_is_allowed_and_one_above_it_is_not():
    assert exceeded_maximum(per_kg(1e8), [per_kg(1e8)]) is None
    assert exceeded_maximum(per_kg(1e8 * (1 + 1e-15)), [per_kg(1e8)]) is None  # rounding of cells / weight
    assert exceeded_maximum(per_kg(1.01e8), [per_kg(1e8)]) == per_kg(1e8)


def test_the_stricter_maximum_holds_whichever_spec_sets_it():
    maxima = [per_kg(1e8), per_kg(3e7)]
    assert exceeded_maximum(per_kg(5e7), maxima) == per_kg(3e7)
    assert exceeded_maximum(per_kg(2e8), maxima) == per_kg(3e7)
    assert exceeded_maximum(per_kg(3e7), maxima) is None


def test_maxima_in_other_units_are_compared_as_doses_per_kg():
    assert exceeded_maximum(per_kg(1.5e5), [Q_(100, "cells/g")]) == Q_(100, "cells/g")


@pytest.mark.parametrize(("deviation", "inside"), [(-20, True), (20, True), (0, True), (-20.01, False),
                                                   (20.01, False)])
def test_the_tolerance_includes_its_bounds(deviation, inside):
    assert within_tolerance(Q_(deviation, "%"), TOLERANCE) is inside


def test_the_release_evaluation_holds_the_study_maximum_too():
    context = DoseContext(target_dose_per_kg=per_kg(5e7), body_weight=Q_(70, "kg"), study_maxima=(per_kg(4e7),))
    evaluation = evaluate(PRODUCT.criterion("dose"), per_kg(5e7), context)
    assert evaluation.outcome is Outcome.FAIL
    assert evaluation.reason == "Dose 5.00 × 10⁷ cells/kg is above the maximum 4 × 10⁷ cells/kg"
    lenient = dataclasses.replace(context, study_maxima=(per_kg(1e9),))
    assert evaluate(PRODUCT.criterion("dose"), per_kg(5e7), lenient).outcome is Outcome.PASS
