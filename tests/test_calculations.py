"""Calculations: the worked examples of the domain handbook (docs/domain-handbook.md), refusals and invariants."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manufacturing.calculations import (
    CalculationError,
    cd3_cells_per_kg,
    cells_required,
    cumulative_fold_expansion,
    dose_deviation,
    dose_per_kg,
    dose_volume,
    doubling_time,
    endotoxin_limit,
    fold_expansion,
    log_depletion,
    population_doublings,
    recovery,
    tnc,
    total_viable_cells,
    viable_nk_cells,
)
from manufacturing.core.errors import DomainError
from manufacturing.units import Q_, round_significant, unit_label


def close(quantity, magnitude, unit):
    """Assert a quantity equals magnitude in unit to 4 significant figures, in the unit the lab reports."""
    assert unit_label(quantity.units) == unit
    assert round_significant(quantity.magnitude, 4) == round_significant(magnitude, 4)


@pytest.mark.parametrize(
    ("dose_per_kg", "cells"),
    [(1.0e6, 7.0e7), (3.16e6, 2.212e8), (1.0e7, 7.0e8), (3.16e7, 2.212e9), (1.0e8, 7.0e9)],
)
def test_cells_required_for_each_dose_level_of_a_70_kg_patient(dose_per_kg, cells):
    close(cells_required(Q_(dose_per_kg, "cells/kg"), Q_(70, "kg")), cells, "cells")


def test_dose_volume_for_7e7_cells_at_5e6_per_ml_is_14_ml():
    close(dose_volume(Q_(1e6, "cells/kg"), Q_(70, "kg"), Q_(5e6, "cells/mL")), 14.0, "mL")
    close(dose_volume(Q_(1e6, "cells/kg"), Q_(70000, "g"), Q_(5e3, "cells/µL")), 14.0, "mL")


def test_endotoxin_limit_70_kg_100_ml_over_one_hour_is_3_5_eu_per_ml():
    close(endotoxin_limit(Q_(70, "kg"), Q_(100, "mL"), Q_(1, "h")), 3.5, "EU/mL")
    close(endotoxin_limit(Q_(70, "kg"), Q_(0.1, "L"), Q_(60, "min")), 3.5, "EU/mL")


def test_endotoxin_limit_counts_the_whole_volume_of_a_short_infusion_and_the_rate_of_a_long_one():
    close(endotoxin_limit(Q_(70, "kg"), Q_(100, "mL"), Q_(30, "min")), 3.5, "EU/mL")
    close(endotoxin_limit(Q_(70, "kg"), Q_(100, "mL"), Q_(2, "h")), 7.0, "EU/mL")
    close(endotoxin_limit(Q_(70, "kg"), Q_(100, "mL"), Q_(1, "h"), Q_(2.5, "EU/kg/h")), 1.75, "EU/mL")


def test_cd3_cells_per_kg():
    close(cd3_cells_per_kg(Q_(1e7, "cells/kg"), Q_(2, "%"), Q_(95, "%")), 1e7 * 2 / 95, "cells/kg")
    close(cd3_cells_per_kg(Q_(1e7, "cells/kg"), Q_(0.02, "dimensionless"), 0.95), 2.105e5, "cells/kg")


def test_log_depletion_1e9_to_1e5_is_4_log():
    close(log_depletion(Q_(1e9, "cells"), Q_(1e5, "cells")), 4.0, "log")
    assert log_depletion(Q_(1e9, "cells"), Q_(1e5, "cells")).m_as("dimensionless") == pytest.approx(4.0)


def test_recovery_fold_expansion_doublings_and_doubling_time():
    close(recovery(Q_(1.0e8, "cells"), Q_(7.9e7, "cells")), 79.0, "%")
    close(fold_expansion(Q_(1.0e7, "cells"), Q_(1.57e8, "cells")), 15.7, "")
    close(population_doublings(Q_(1.0e7, "cells"), Q_(1.57e8, "cells")), math.log2(15.7), "")
    close(population_doublings(Q_(1.0e7, "cells"), Q_(1.57e8, "cells")), 3.973, "")
    close(doubling_time(Q_(1.0e7, "cells"), Q_(1.57e8, "cells"), Q_(14, "d")), 14 * 24 / math.log2(15.7), "h")
    close(doubling_time(Q_(1.0e7, "cells"), Q_(1.57e8, "cells"), Q_(14, "d")), 84.58, "h")


def test_cell_counts_at_apheresis_and_harvest():
    close(tnc(Q_(50e6, "cells/mL"), Q_(185, "mL")), 9.25e9, "cells")
    close(total_viable_cells(Q_(2.5e6, "cells/mL"), Q_(100, "mL"), Q_(96, "%")), 2.4e8, "cells")
    close(total_viable_cells(Q_(2.5e6, "cells/mL"), Q_(0.1, "L"), Q_(0.96, "dimensionless")), 2.4e8, "cells")
    close(viable_nk_cells(Q_(2.4e8, "cells"), Q_(90, "%")), 2.16e8, "cells")


def test_cumulative_fold_expansion_is_the_product_of_each_passage():
    passages = [(Q_(1e7, "cells"), Q_(4e7, "cells")), (Q_(2e7, "cells"), Q_(8e7, "cells"))]
    close(cumulative_fold_expansion(passages), 16.0, "")


def test_dose_deviation():
    close(dose_deviation(Q_(1.3e6, "cells/kg"), Q_(1e6, "cells/kg")), 30.0, "%")
    close(dose_deviation(Q_(6.3e7, "cells"), Q_(7e7, "cells")), -10.0, "%")


def test_dose_per_kg_is_the_cells_over_the_body_weight():
    close(dose_per_kg(Q_(7e7, "cells"), Q_(70, "kg")), 1.0e6, "cells/kg")
    close(dose_per_kg(Q_(7e7, "cells"), Q_(70000, "g")), 1.0e6, "cells/kg")


def test_negative_population_doublings_mean_a_loss_of_cells():
    close(population_doublings(Q_(1e7, "cells"), Q_(5e6, "cells")), -1.0, "")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: total_viable_cells(Q_(45, "mL"), Q_(100, "mL"), Q_(96, "%")),
            "concentration must be a cell concentration (cells/mL), got 45.0 mL (a volume)",
        ),
        (
            lambda: cells_required(Q_(1e6, "cells/mL"), Q_(70, "kg")),
            "dose per kg must be a dose per kg body weight (cells/kg)",
        ),
        (lambda: cells_required(Q_(1e6, "cells/kg"), 70), "body weight must be a mass (kg), got 70"),
        (lambda: recovery(Q_(0, "cells"), Q_(5, "cells")), "cells before the step is zero"),
        (lambda: recovery(Q_(1e8, "cells/mL"), Q_(5e7, "cells/mL")), "must be a cell count"),
        (lambda: log_depletion(Q_(1e9, "cells"), Q_(0, "cells")), 'report "> x log"'),
        (lambda: log_depletion(Q_(0, "cells"), Q_(10, "cells")), "log depletion cannot be calculated"),
        (lambda: fold_expansion(Q_(0, "cells"), Q_(1e8, "cells")), "cells seeded is zero"),
        (lambda: fold_expansion(Q_(1e7, "cells"), Q_(-1e8, "cells")), "cells harvested cannot be negative"),
        (lambda: population_doublings(Q_(1e7, "cells"), Q_(0, "cells")), "final cells is zero"),
        (lambda: doubling_time(Q_(1e7, "cells"), Q_(1e7, "cells"), Q_(24, "h")), "did not grow"),
        (lambda: doubling_time(Q_(1e7, "cells"), Q_(2e7, "cells"), Q_(0, "h")), "elapsed time is zero"),
        (
            lambda: dose_volume(Q_(1e6, "cells/kg"), Q_(70, "kg"), Q_(0, "cells/mL")),
            "viable NK concentration is zero",
        ),
        (lambda: viable_nk_cells(Q_(1e8, "cells"), Q_(105, "%")), "NK fraction must lie between 0 and 100 %"),
        (lambda: viable_nk_cells(Q_(1e8, "cells"), Q_(-5, "%")), "NK fraction must lie between 0 and 100 %"),
        (lambda: viable_nk_cells(Q_(1e8, "cells"), Q_(2, "log")), "NK fraction must be a percentage"),
        (lambda: viable_nk_cells(Q_(1e8, "cells"), "96 %"), "NK fraction must be a percentage"),
        (lambda: cd3_cells_per_kg(Q_(1e7, "cells/kg"), Q_(2, "%"), Q_(0, "%")), "NK fraction is zero"),
        (lambda: cumulative_fold_expansion([]), "at least one passage"),
        (lambda: endotoxin_limit(Q_(70, "kg"), Q_(0, "mL"), Q_(1, "h")), "infused volume is zero"),
        (
            lambda: endotoxin_limit(Q_(70, "kg"), Q_(100, "mL"), Q_(1, "h"), Q_(5, "EU/kg")),
            "threshold K must be",
        ),
        (lambda: dose_deviation(Q_(1e6, "cells/kg"), Q_(0, "cells/kg")), "target dose is zero"),
        (lambda: dose_per_kg(Q_(7e7, "cells"), Q_(0, "kg")), "body weight is zero"),
        (lambda: dose_per_kg(Q_(1e6, "cells/kg"), Q_(70, "kg")), "cells must be a cell count"),
        (
            lambda: dose_deviation(Q_(1e6, "cells"), Q_(1e6, "cells/kg")),
            "delivered dose must be a dose per kg",
        ),
    ],
)
def test_refusals_name_the_argument_and_what_is_wrong(call, message):
    with pytest.raises(CalculationError) as error:
        call()
    assert message in str(error.value)
    assert isinstance(error.value, DomainError)


counts = st.floats(min_value=1.0, max_value=1e12, allow_nan=False)
doses = st.floats(min_value=1e4, max_value=1e8)
weights = st.floats(min_value=1.0, max_value=250.0)
concentrations = st.floats(min_value=1e3, max_value=1e9)


@given(doses, weights, concentrations)
def test_dose_volume_times_concentration_is_cells_required(dose, weight, concentration):
    dose, weight, concentration = Q_(dose, "cells/kg"), Q_(weight, "kg"), Q_(concentration, "cells/mL")
    drawn = (dose_volume(dose, weight, concentration) * concentration).to("cells").magnitude
    assert drawn == pytest.approx(cells_required(dose, weight).magnitude, rel=1e-9)


@given(counts)
def test_recovery_of_everything_is_100_percent(cells):
    assert recovery(Q_(cells, "cells"), Q_(cells, "cells")).m_as("percent") == pytest.approx(100.0)


@given(counts, counts)
def test_cumulative_fold_of_one_passage_is_its_fold_expansion(seeded, harvested):
    seeded, harvested = Q_(seeded, "cells"), Q_(harvested, "cells")
    assert cumulative_fold_expansion([(seeded, harvested)]) == fold_expansion(seeded, harvested)


@given(counts, st.floats(min_value=1.0, max_value=1e6))
def test_doublings_and_logs_agree_with_the_fold(initial, fold):
    initial, final = Q_(initial, "cells"), Q_(initial * fold, "cells")
    assert 2 ** population_doublings(initial, final).magnitude == pytest.approx(fold, rel=1e-9)
    assert log_depletion(final, initial).magnitude == pytest.approx(math.log10(fold), abs=1e-9)


@given(doses, st.floats(min_value=0.0, max_value=100.0), st.floats(min_value=1.0, max_value=100.0))
def test_dose_deviation_and_cd3_per_kg_are_consistent(dose, cd3, nk):
    per_kg = cd3_cells_per_kg(Q_(dose, "cells/kg"), Q_(cd3, "%"), Q_(nk, "%"))
    assert per_kg.magnitude == pytest.approx(dose * cd3 / nk, rel=1e-9)
    assert dose_deviation(Q_(dose, "cells/kg"), Q_(dose, "cells/kg")).magnitude == pytest.approx(0.0)
