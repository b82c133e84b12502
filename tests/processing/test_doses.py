"""Dose preparation: dose units from the harvest, the schedule and a dated weight."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from manufacturing.processing import doses
from manufacturing.processing.models import DoseKind, DoseState, DoseUnit, StepKind
from manufacturing.units import Q_
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE


@pytest.fixture
def harvested(bench):
    lot = bench.lot_through(StepKind.HARVEST)
    bench.weigh(bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] - 20))
    return lot


def prepare(bench, lot, *units):
    return bench.prepare(lot, bench.at(SCHEDULE[StepKind.DOSE_PREPARATION]), units)


def test_fresh_and_cryopreserved_units(bench, harvested):
    step = prepare(bench, harvested, (1, "1e6 cells/kg", DoseKind.FRESH, "50 mL"),
                   (2, "3.16e6 cells/kg", DoseKind.CRYOPRESERVED, "20 mL"))
    fresh, frozen = step.dose_units
    assert (fresh.division_code, frozen.division_code) == ("A0", "B0")
    assert fresh.state == frozen.state == DoseState.QUARANTINE
    assert fresh.cells.to("cell").magnitude == pytest.approx(1e6 * 64.0)
    concentration = 6e6 * 0.96 * 0.97
    assert fresh.volume_drawn.to("mL").magnitude == pytest.approx(64e6 / concentration)
    assert fresh.expiry_at - step.performed_at == timedelta(hours=24)
    assert frozen.expiry_at - step.performed_at == timedelta(days=365)
    assert fresh.concentration.to("cell/mL").magnitude == pytest.approx(64e6 / 50)


def _refused(database, bench, lot, units):
    before = database.session.scalar(select(func.count()).select_from(DoseUnit))
    at = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION])
    given = bench.step_input(StepKind.DOSE_PREPARATION, at)
    requests = [doses.DoseRequest(n, Q_(level, "cell/kg"), kind, volume) for n, level, kind, volume in units]
    with clock.frozen(at), pytest.raises(DomainError) as caught:
        doses.prepare_doses(lot, given, requests, bench.subject.latest_weight, bench.technician, PASSWORD,
                            bench.technician.username)
    database.session.rollback()
    assert database.session.scalar(select(func.count()).select_from(DoseUnit)) == before
    return caught.value.message


def test_a_unit_may_not_exceed_its_infusion_level(database, bench, harvested):
    message = _refused(database, bench, harvested, [(1, 3.16e6, DoseKind.FRESH, "50 mL")])
    assert "Infusion 1 may not exceed 1.00 × 10⁶ cells/kg" in message


def test_units_cannot_take_more_than_was_harvested(database, bench, harvested):
    message = _refused(database, bench, harvested, [(5, 1e8, DoseKind.FRESH, "100 mL")])
    assert "of harvest; only 500 mL was harvested" in message


def test_final_volume_needs_its_unit(database, bench, harvested):
    message = _refused(database, bench, harvested, [(1, 1e6, DoseKind.FRESH, "50")])
    assert "mL" in message


def test_an_infusion_gets_one_unit(database, bench, harvested):
    message = _refused(database, bench, harvested, [(1, 1e6, DoseKind.FRESH, "50 mL"),
                                                    (1, 1e6, DoseKind.CRYOPRESERVED, "20 mL")])
    assert "infusion number is repeated" in message


def test_infusion_beyond_the_study(database, bench, harvested):
    assert "not in the study" in _refused(database, bench, harvested, [(6, 1e6, DoseKind.FRESH, "50 mL")])


def test_the_weight_age_is_checked_against_the_spec(bench):
    lot = bench.lot_through(StepKind.HARVEST)  # the only weight is 16 days old at dose preparation
    step = prepare(bench, lot, (1, "1e6 cells/kg", DoseKind.FRESH, "50 mL"))
    from manufacturing.quality.lot_record import build

    view = next(v for v in build(lot).steps if v.step.id == step.id)
    assert [c.colour for c in view.checks] == ["red"]
    assert view.needs_deviation
