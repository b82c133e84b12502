"""Real vendor exports, their sample IDs set to a lot's, imported end to end through the real readers.

The files keep the times their instruments wrote (2019 to 2023), before the product's specification came into
force: the reader's times are moved by whole days (`moved_days`) to the bench's lot, every other thing read as
the file says it.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.core.audit_verify import verify_chain
from manufacturing.core.errors import DomainError
from manufacturing.extensions import db
from manufacturing.instruments import files, operations
from manufacturing.instruments.readings import read_export
from manufacturing.materials.models import EquipmentKind
from manufacturing.processing.models import DoseUnit, StepKind
from manufacturing.processing.operations import lot_steps
from manufacturing.quality.models import QcResult
from manufacturing.units import Q_
from tests.factories import PASSWORD, make_user
from tests.instruments.exports import facsdiva_export, nucleoview_export, vi_cell_blu_export, vi_cell_xr_export
from tests.materials.factories import register
from tests.processing.factories import SCHEDULE, set_up_bench

pytestmark = pytest.mark.usefixtures("database")
DAYS_AGO = 30  # the analyses are moved to this many days before today, whole days kept
TODAY = datetime.now(UTC)


@pytest.fixture(autouse=True)
def moved_days(monkeypatch):
    """Read every export for real, then move its analysis times by whole days to a month ago."""
    def read(name, content):
        export = read_export(name, content)
        return replace(export, samples=tuple(replace(sample, analysed_at=_moved(sample.analysed_at))
                                             for sample in export.samples))

    monkeypatch.setattr(operations, "read_export", read)


def _moved(analysed):
    """Whole days later, to about a month before today (the real today: the tests freeze the site's clock)."""
    return analysed + timedelta(days=(TODAY - analysed).days - DAYS_AGO)


def _bench_before(analysed, hours_before: float):
    """A bench whose bag arrives `hours_before` the analysis (each step then falls where SCHEDULE puts it)."""
    staff = [make_user(name, roles=[role]) for name, role in (("tech.one", "TECHNICIAN"), ("tech.two", "TECHNICIAN"),
                                                              ("qa.one", "QA"), ("pharm.one", "PHARMACY"))]
    return set_up_bench(*staff, analysed - timedelta(hours=hours_before))


def _analysed(content: bytes, name: str):
    return _moved(read_export(name, content).samples[0].analysed_at)


def _culture_day(bench, lot, name: str, content: bytes, at, counter_on_form: bool, row: int | None = None):
    given = bench.step_input(StepKind.CULTURE_DAY, at)
    if not counter_on_form:
        given = replace(given, equipment={**given.equipment, "Cell counter": None})
    with clock.frozen(at + timedelta(minutes=30)):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        step = operations.import_step(lot, StepKind.CULTURE_DAY, given, operations.Upload(name, content), row,
                                      bench.technician, PASSWORD, bench.technician.username)
        db.session.commit()
    return step


def _counted(analysed):
    """A lot through culture day 0, its culture day 5 the day of the analysis; the count begun a minute before."""
    day5 = SCHEDULE[StepKind.CULTURE_DAY0] + 24 * 5
    bench = _bench_before(analysed, day5)
    return bench, bench.lot_through(StepKind.CULTURE_DAY0), analysed - timedelta(minutes=1)


def test_a_vi_cell_blu_export_lands_as_the_culture_days_counts_with_the_file_kept():
    analysed = _analysed(vi_cell_blu_export(), "count.csv")
    bench, lot, at = _counted(analysed)
    content = vi_cell_blu_export(sample_id=f"{lot.lot_number}-D5")
    with pytest.raises(operations.ChooseSample):  # the file holds two samples
        _culture_day(bench, lot, "vi-cell-blu.csv", content, at, counter_on_form=True)
    db.session.rollback()
    step = _culture_day(bench, lot, "vi-cell-blu.csv", content, at, counter_on_form=True, row=0)  # no serial in BLU
    assert step.value("concentration").quantity == Q_(750000.0, "cell / milliliter")
    assert step.value("viable_concentration").quantity == Q_(690000.0, "cell / milliliter")
    assert step.value("viability").quantity == Q_(92.03, "percent")
    [kept] = files.files_of_lot(lot.id)
    assert files.intact_content(kept) == content and kept.step_id == step.id
    assert kept.equipment_id == bench.equipment[EquipmentKind.CELL_COUNTER].id
    assert verify_chain(db.session).ok


def test_a_nucleoview_export_lands_by_the_lots_din_and_its_counter_by_serial_number():
    analysed = _analysed(nucleoview_export(), "nc200.csv")
    bench, lot, at = _counted(analysed)
    with clock.frozen(at - timedelta(days=3)):
        counter = register(bench.qa, code="CNT-NC200", name="NucleoCounter NC-200", kind=EquipmentKind.CELL_COUNTER,
                           due_in_days=365, serial_number="9000201099909999")
    content = nucleoview_export(sample_id=lot.din)
    step = _culture_day(bench, lot, "nc200.csv", content, at, counter_on_form=False)
    assert step.value("concentration").quantity == Q_(3580000.0, "cell / milliliter")
    assert step.value("viable_concentration").quantity == Q_(2450000.0, "cell / milliliter")
    assert step.value("viability").quantity == Q_(68.2, "percent")
    [kept] = files.files_of_lot(lot.id)
    assert kept.equipment_id == counter.id and kept.serial_number == "9000201099909999"
    assert verify_chain(db.session).ok


def test_a_vi_cell_xr_export_lands_too():
    analysed = _analysed(vi_cell_xr_export(), "count.txt")
    bench, lot, at = _counted(analysed)
    with clock.frozen(at - timedelta(days=3)):
        register(bench.qa, code="CNT-XR", name="Vi-CELL XR", kind=EquipmentKind.CELL_COUNTER, due_in_days=365,
                 serial_number="AW123456789")
    step = _culture_day(bench, lot, "xr.txt", vi_cell_xr_export(sample_id=f"{lot.din} D5"), at, False)
    assert step.value("viability").quantity == Q_(97.0, "percent")


@pytest.mark.parametrize("sample_id", ["NK-2019-0002-D5", "G123426200002"])
def test_an_export_naming_another_lot_is_refused_and_nothing_is_stored(sample_id):
    analysed = _analysed(vi_cell_blu_export(), "count.csv")
    bench, lot, at = _counted(analysed)
    steps = len(lot_steps(lot))
    with pytest.raises(DomainError, match="does not name lot"):
        _culture_day(bench, lot, "count.csv", vi_cell_blu_export(sample_id=sample_id), at, True, row=0)
    db.session.rollback()
    assert files.files_of_lot(lot.id) == []
    assert len(lot_steps(lot)) == steps


def test_a_facsdiva_export_lands_as_the_purity_results_of_a_dose_unit():
    analysed = _analysed(facsdiva_export(), "panel.xml")
    bench = _bench_before(analysed, SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    bench.weigh(bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] - 20))
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    [dose] = db.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == lot.id)).all()
    with clock.frozen(analysed - timedelta(hours=1)):
        cytometer = register(bench.qa, code="FCM-ARIA", name="FACSAria II", kind=EquipmentKind.FLOW_CYTOMETER,
                             due_in_days=365, serial_number="1")
    upload = operations.Upload("nk-panel.xml", facsdiva_export(sample_id=f"{lot.lot_number}-D14"))
    with clock.frozen(analysed + timedelta(minutes=30)):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        results = operations.import_results(lot, dose, upload, 0, bench.technician, PASSWORD,
                                            bench.technician.username)
        db.session.commit()
    found = {result.test_key: round(result.quantity.m_as("percent"), 2) for result in results}
    assert found == {"nk_purity": 14.54, "cd3": 86.82, "cd19": 4.02}
    assert all(result.tested_at == analysed for result in results)
    [kept] = files.files_of_lot(lot.id)
    assert kept.equipment_id == cytometer.id
    assert {value.qc_result_id for value in kept.values} == {result.id for result in results}
    assert db.session.scalars(select(QcResult).where(QcResult.lot_id == lot.id)).all()  # judged (OOS: PBMC)
    assert verify_chain(db.session).ok
