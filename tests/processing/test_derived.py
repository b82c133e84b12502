"""Calculated values of a lot, checked against the formulas by hand."""

import math

import pytest

from manufacturing.processing.derived import derive
from manufacturing.processing.models import StepKind
from manufacturing.processing.operations import lot_steps
from tests.processing.factories import SCHEDULE


def values(lot, kind, index=0):
    steps = lot_steps(lot)
    step = [s for s in steps if s.kind == kind][index]
    return derive(steps)[step.id].values


def magnitude(quantity, unit):
    return quantity.to(unit).magnitude


@pytest.fixture
def lot(bench):
    return bench.lot_through(StepKind.HARVEST)


def test_apheresis_counts(lot):
    got = values(lot, StepKind.APHERESIS_RECEIPT)
    assert magnitude(got["tnc"], "cell") == pytest.approx(80e6 * 185)
    assert magnitude(got["total_viable_cells"], "cell") == pytest.approx(80e6 * 185 * 0.98)
    assert magnitude(got["viable_nk"], "cell") == pytest.approx(80e6 * 185 * 0.98 * 0.12)
    assert magnitude(got["time_since_collection"], "hour") == pytest.approx(6)


def test_cd3_depletion_log_and_recovery(lot):
    got = values(lot, StepKind.CD3_DEPLETION)
    cd3_before, cd3_after = 80e6 * 185 * 0.98 * 0.60, 20e6 * 100 * 0.95 * 0.005
    assert magnitude(got["log_depletion"], "") == pytest.approx(math.log10(cd3_before / cd3_after))
    assert magnitude(got["nk_recovery"], "percent") == pytest.approx(
        100 * (20e6 * 100 * 0.95 * 0.60) / (80e6 * 185 * 0.98 * 0.12))


def test_cd56_recovery_is_against_the_depleted_product(lot):
    got = values(lot, StepKind.CD56_SELECTION)
    assert magnitude(got["nk_recovery"], "percent") == pytest.approx(
        100 * (15e6 * 20 * 0.95 * 0.95) / (20e6 * 100 * 0.95 * 0.60))


def test_harvest_fold_doublings_and_doubling_time(lot):
    seeded = 1e6 * 200 * 0.95
    got = values(lot, StepKind.HARVEST)
    harvested = 6e6 * 500 * 0.96 * 0.97
    assert magnitude(got["cumulative_fold"], "") == pytest.approx(harvested / seeded)
    assert magnitude(got["population_doublings"], "") == pytest.approx(math.log2(harvested / seeded))
    hours = (SCHEDULE[StepKind.HARVEST] - SCHEDULE[StepKind.CULTURE_DAY0])
    assert magnitude(got["doubling_time"], "hour") == pytest.approx(hours / math.log2(harvested / seeded))
    assert magnitude(got["viable_nk_concentration"], "cell/mL") == pytest.approx(6e6 * 0.96 * 0.97)


def test_split_scales_the_cumulative_fold(bench):
    lot = bench.lot_through(StepKind.CULTURE_DAY0)
    day0_hours = SCHEDULE[StepKind.CULTURE_DAY0]
    day5 = bench.record(lot, StepKind.CULTURE_DAY, bench.at(day0_hours + 24 * 5), concentration="2 x 10^6 cells/mL",
                        viability="90 %", volume="200 mL", action="split", volume_removed="100 mL")
    bench.verify(day5)
    bench.record(lot, StepKind.CULTURE_DAY, bench.at(day0_hours + 24 * 7), concentration="3 x 10^6 cells/mL",
                 viability="90 %", volume="100 mL", action="none", volume_added="")
    seeded = 1e6 * 200 * 0.95
    nk5 = 2e6 * 200 * 0.90 * 0.95
    nk7 = 3e6 * 100 * 0.90 * 0.95
    expected = (nk5 / seeded) * (nk7 / (nk5 * 0.5))
    assert magnitude(values(lot, StepKind.CULTURE_DAY, 1)["cumulative_fold"], "") == pytest.approx(expected)


def test_a_changed_entry_is_calculated_anew_and_each_caller_has_its_own_copy(lot):
    steps = lot_steps(lot)
    apheresis = next(step for step in steps if step.kind == StepKind.APHERESIS_RECEIPT)
    first = derive(steps)[apheresis.id]
    first.values.clear()
    first.problems.append("changed by its reader")
    again = derive(steps)[apheresis.id]
    assert magnitude(again.values["tnc"], "cell") == pytest.approx(80e6 * 185) and not again.problems
    volume = apheresis.value("volume")
    volume.quantity = volume.quantity * 2  # in memory only: what derive reads, not what was stored
    assert magnitude(derive(steps)[apheresis.id].values["tnc"], "cell") == pytest.approx(80e6 * 370)
