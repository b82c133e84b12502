"""Importing an export onto a culture day and as QC results: what lands, what is refused, and that a refusal stores
nothing. The reader is replaced by exports made here (the real files are read in test_readings and test_vendor_files).
"""

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.core.audit_verify import verify_chain
from manufacturing.core.errors import DomainError
from manufacturing.extensions import db
from manufacturing.instruments import files, operations
from manufacturing.instruments.files import REPLACED
from manufacturing.instruments.models import InstrumentFile, InstrumentValue
from manufacturing.materials.models import EquipmentKind
from manufacturing.processing.models import DoseUnit, ProcessStep, StepKind
from manufacturing.quality.models import QcResult
from manufacturing.units import Q_
from tests.conftest import past_the_triggers
from tests.factories import PASSWORD
from tests.instruments.factories import CYTOMETER_SERIAL, FLOW
from tests.instruments.factories import day5 as _day5
from tests.instruments.factories import export_file as _file
from tests.instruments.factories import sample as _sample
from tests.materials.factories import register


def _import(bench, lot, upload, at, row=None, counter_on_form=False, **values):
    """Import onto a new culture day; the form names no counter unless `counter_on_form` (then the bench's)."""
    given = bench.step_input(StepKind.CULTURE_DAY, at, **values)
    if not counter_on_form:
        given = replace(given, equipment={**given.equipment, "Cell counter": None})
    with clock.frozen(at + timedelta(minutes=10)):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        step = operations.import_step(lot, StepKind.CULTURE_DAY, given, upload, row, bench.technician, PASSWORD,
                                      bench.technician.username)
        db.session.commit()
    return step


def _stored() -> tuple[int, int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (ProcessStep, InstrumentFile, InstrumentValue, QcResult))


def test_a_count_lands_as_the_culture_days_values_with_its_file_kept(bench, lot, counter, exports):
    at = _day5(bench)
    upload = _file(exports, _sample(f"{lot.din}-D5", at + timedelta(minutes=2)))
    step = _import(bench, lot, upload, at, concentration="9 x 10^6 cells/mL")
    values = {value.key: value.quantity for value in step.values}
    assert values["concentration"] == Q_(2.5e6, "cell / milliliter")  # the file's, not what was typed
    assert values["viable_concentration"] == Q_(2.3e6, "cell / milliliter")
    assert values["viability"] == Q_(92.0, "percent")
    assert {row.role: row.equipment_id for row in step.equipment}["Cell counter"] == counter.id
    [kept] = files.files_of_lot(lot.id)
    assert (kept.step_id, kept.sha256, kept.equipment_id) == (step.id, upload.sha256, counter.id)
    assert files.intact_content(kept) == upload.content
    assert {(value.field_key, value.measure) for value in kept.values} == {
        ("concentration", "total_concentration"), ("viable_concentration", "viable_concentration"),
        ("viability", "viability")}
    assert verify_chain(db.session).ok


@pytest.mark.parametrize("sample_id", ["G123426000124", "NK-2026-9999", "", "G12342600012", "XG123426000123"])
def test_a_file_naming_another_sample_is_refused_and_nothing_is_stored(bench, lot, counter, exports, sample_id):
    at = _day5(bench)
    before = _stored()
    with pytest.raises(DomainError, match="does not name lot"):
        _import(bench, lot, _file(exports, _sample(sample_id, at)), at)
    db.session.rollback()
    assert _stored() == before


@pytest.mark.parametrize("sample_id", ["=G12342600012300", "g1234 26 000123", "G123426000123-D5",
                                       "G123426000123 day 5"])
def test_the_din_as_scanned_typed_or_with_a_suffix_names_the_lot(bench, lot, counter, exports, sample_id):
    at = _day5(bench)
    _import(bench, lot, _file(exports, _sample(sample_id, at)), at)
    assert len(files.files_of_lot(lot.id)) == 1


def test_the_lot_number_names_the_lot_but_not_a_longer_one(bench, lot, counter, exports):
    at = _day5(bench)
    with pytest.raises(DomainError, match="does not name lot"):
        _import(bench, lot, _file(exports, _sample(f"{lot.lot_number}1", at)), at)
    db.session.rollback()
    _import(bench, lot, _file(exports, _sample(f"{lot.lot_number}/D5", at)), at)


def test_the_same_file_is_imported_once(bench, lot, counter, exports):
    at = _day5(bench)
    upload = _file(exports, _sample(lot.din, at))
    _import(bench, lot, upload, at)
    bench.verify(db.session.scalars(select(ProcessStep).order_by(ProcessStep.id.desc())).first())
    before = _stored()
    with pytest.raises(DomainError, match="already imported"):
        _import(bench, lot, upload, at + timedelta(days=2))
    db.session.rollback()
    assert _stored() == before


@pytest.mark.parametrize(("shift", "message"), [(timedelta(minutes=-30), "before the culture day began"),
                                                 (timedelta(days=30), "in the future")])
def test_an_analysis_out_of_time_is_refused(bench, lot, counter, exports, shift, message):
    at = _day5(bench)
    before = _stored()
    with pytest.raises(DomainError, match=message):
        _import(bench, lot, _file(exports, _sample(lot.din, at + shift)), at)
    db.session.rollback()
    assert _stored() == before


def test_an_unknown_or_uncalibrated_instrument_is_refused(bench, lot, counter, exports):
    at = _day5(bench)
    for serial, message in (("NOPE-1", "not registered"), (CYTOMETER_SERIAL.lower(), "not registered")):
        with pytest.raises(DomainError, match=message):
            _import(bench, lot, _file(exports, _sample(lot.din, at, serial=serial)), at)
        db.session.rollback()
    overdue = register(bench.qa, code="CNT-OLD", name="Old counter", kind=EquipmentKind.CELL_COUNTER,
                       due_in_days=-30, serial_number="OLD-1")
    assert overdue.calibration_due < clock.local_date(clock.now())
    with pytest.raises(DomainError, match="calibration"):
        _import(bench, lot, _file(exports, _sample(lot.din, clock.now() - timedelta(days=1), serial="OLD-1")),
                clock.now() - timedelta(days=1, minutes=5))


def test_a_file_without_a_serial_number_takes_the_counter_chosen_on_the_form(bench, lot, counter, exports):
    at = _day5(bench)
    given_counter = bench.equipment[EquipmentKind.CELL_COUNTER]
    with pytest.raises(DomainError, match="choose the cell counter"):
        _import(bench, lot, _file(exports, _sample(lot.din, at, serial=None)), at)
    db.session.rollback()
    step = _import(bench, lot, _file(exports, _sample(lot.din, at, serial=None)), at, counter_on_form=True)
    [kept] = files.files_of_lot(lot.id)
    assert kept.serial_number is None and kept.equipment_id == given_counter.id
    assert {row.role: row.equipment_id for row in step.equipment}["Cell counter"] == given_counter.id


def test_a_counter_registered_as_another_kind_is_refused(bench, lot, cytometer, exports):
    at = _day5(bench)
    with pytest.raises(DomainError, match="registered as a flow cytometer"):
        _import(bench, lot, _file(exports, _sample(lot.din, at, serial=CYTOMETER_SERIAL)), at)


def test_a_file_of_several_samples_asks_which_and_takes_the_row_chosen(bench, lot, counter, exports):
    at = _day5(bench)
    upload = _file(exports, _sample("OTHER-1", at), _sample(lot.din, at + timedelta(minutes=1)))
    with pytest.raises(operations.ChooseSample, match="2 samples"):
        _import(bench, lot, upload, at)
    db.session.rollback()
    with pytest.raises(DomainError, match="does not name lot"):
        _import(bench, lot, upload, at, row=0)
    db.session.rollback()
    with pytest.raises(DomainError, match="no such row"):
        _import(bench, lot, upload, at, row=2)
    db.session.rollback()
    _import(bench, lot, upload, at, row=1)
    [kept] = files.files_of_lot(lot.id)
    assert kept.sample_id == lot.din


def test_a_wrong_password_stores_nothing(bench, lot, counter, exports):
    at = _day5(bench)
    given = bench.step_input(StepKind.CULTURE_DAY, at)
    before = _stored()
    with clock.frozen(at), pytest.raises(DomainError):
        operations.import_step(lot, StepKind.CULTURE_DAY, given, _file(exports, _sample(lot.din, at)), None,
                               bench.technician, "not the password", bench.technician.username)
    db.session.rollback()
    assert _stored() == before


def test_a_stored_file_changed_behind_the_application_is_found_and_not_served(bench, lot, counter, exports):
    at = _day5(bench)
    _import(bench, lot, _file(exports, _sample(lot.din, at)), at)
    [kept] = files.files_of_lot(lot.id)
    db.session.rollback()
    with past_the_triggers() as connection:
        connection.execute(InstrumentFile.__table__.update().values(content=b"forged"))
    db.session.expire_all()
    report = verify_chain(db.session)
    assert REPLACED in report.kinds
    assert files.intact_content(db.session.get(InstrumentFile, kept.id)) is None


def test_a_flow_export_lands_as_the_purity_results_of_a_dose_unit(prepared, exports):
    bench, lot = prepared.bench, prepared.lot
    cytometer = register(bench.qa, code="FCM-DIVA", name="FACSCanto II", kind=EquipmentKind.FLOW_CYTOMETER,
                         due_in_days=365, serial_number=CYTOMETER_SERIAL)
    [dose] = db.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == lot.id)).all()
    at = dose.step.performed_at + timedelta(hours=1)
    upload = _file(exports, _sample(lot.lot_number, at, FLOW, CYTOMETER_SERIAL, "BD FACSDiva"))
    with clock.frozen(at + timedelta(minutes=10)):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        results = operations.import_results(lot, dose, upload, None, bench.technician, PASSWORD,
                                            bench.technician.username)
        db.session.commit()
    assert {result.test_key: result.quantity for result in results} == {
        "nk_purity": Q_(96.5, "percent"), "cd3": Q_(0.4, "percent"), "cd19": Q_(0.1, "percent")}
    assert {result.dose_unit_id for result in results} == {dose.id}
    [kept] = files.files_of_lot(lot.id)
    assert kept.equipment_id == cytometer.id
    assert kept.step_id is None and {value.qc_result_id for value in kept.values} == {r.id for r in results}
    assert verify_chain(db.session).ok
