"""Imports tried as a careless user or a hostile insider would (operations): identity tricks, times, instruments,
duplicates, lot states, tampering behind the application, implausible values."""

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.core.audit_verify import verify_chain
from manufacturing.core.errors import DomainError
from manufacturing.extensions import db
from manufacturing.instruments import files, operations
from manufacturing.instruments.models import InstrumentFile, InstrumentValue
from manufacturing.processing.models import ProcessStep, StepKind
from manufacturing.quality.models import QcResult
from manufacturing.units import Q_
from tests.conftest import past_the_triggers
from tests.factories import PASSWORD
from tests.instruments.factories import COUNTS
from tests.instruments.factories import day5 as _day5
from tests.instruments.factories import export_file as _file
from tests.instruments.factories import sample as _sample


def _import(bench, lot, upload, performed_at, now=None, row=None, **values):
    given = bench.step_input(StepKind.CULTURE_DAY, performed_at, **values)
    given = replace(given, equipment={**given.equipment, "Cell counter": None})
    with clock.frozen(now or performed_at + timedelta(minutes=10)):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        step = operations.import_step(lot, StepKind.CULTURE_DAY, given, upload, row, bench.technician, PASSWORD,
                                      bench.technician.username)
        db.session.commit()
    return step


def _stored():
    return tuple(db.session.scalar(select(func.count()).select_from(model))
                 for model in (ProcessStep, InstrumentFile, InstrumentValue, QcResult))


# ---- 1. chain of identity --------------------------------------------------------------------------------

@pytest.mark.parametrize("make_id", [
    lambda lot: lot.din + "0",                      # a longer DIN
    lambda lot: lot.din[:-1] + "4",                 # DIN of the next bag
    lambda lot: lot.din[:-1],                       # a prefix only
    lambda lot: "X" + lot.din,                      # prefixed
    lambda lot: lot.lot_number + "0",               # lot 1 vs lot 10
    lambda lot: lot.lot_number[:-1],                # lot 1 as lot "" (NK-2026-000)
    lambda lot: lot.lot_number.replace("-", "\u2011"),  # non-breaking hyphen look-alike
    lambda lot: lot.din[:5] + "\u200b" + lot.din[5:],  # zero-width space inside
    lambda lot: lot.din.replace("1", "\uff11"),      # full-width digit
    lambda lot: lot.din + "123",                     # three digits after the DIN (not flags)
    lambda lot: "==" + lot.din,                      # two "="
], ids=["din+0", "next-din", "din-prefix", "X+din", "lot1-vs-lot10", "lot-prefix", "nb-hyphen", "zero-width",
        "fullwidth", "din+3digits", "double-eq"])
def test_held_identity_tricks_are_refused(bench, lot, counter, exports, make_id):
    at = _day5(bench)
    before = _stored()
    with pytest.raises(DomainError, match="does not name lot"):
        _import(bench, lot, _file(exports, _sample(make_id(lot), at)), at)
    db.session.rollback()
    assert _stored() == before


def test_unicode_casefold_lookalike_kelvin_sign_names_the_lot(bench, lot, counter, exports):
    """ (cosmetic/low): re.IGNORECASE matches U+212A KELVIN SIGN as 'K', so 'N\u212a-2026-0001' is taken as
    lot NK-2026-0001. Not a cross-lot landing, but the stored sample_id is not the label that names the lot."""
    at = _day5(bench)
    lookalike = lot.lot_number.replace("K", "\u212a")
    assert lookalike != lot.lot_number
    with pytest.raises(DomainError, match="does not name lot"):
        _import(bench, lot, _file(exports, _sample(lookalike, at)), at)


def test_a_sample_id_naming_two_lots_is_taken_for_the_first(bench, lot, counter, exports):
    """ (data integrity, low): anything after a separator is accepted, even another lot's DIN, so an
    ambiguous ID 'G123426000123/G123426000124' lands on lot ...123 without a question."""
    at = _day5(bench)
    other = lot.din[:-1] + "4"
    with pytest.raises(DomainError, match="does not name lot"):
        _import(bench, lot, _file(exports, _sample(f"{lot.din}/{other}", at)), at)


# ---- 3. duplicates ---------------------------------------------------------------------------------------

def test_held_the_same_count_exported_twice_cannot_land_on_a_second_step(bench, lot, counter, exports):
    """HELD (by the step sequence, not by the import): duplicates are detected by SHA-256 of the bytes only, so a
    re-export differing by one byte passes check_not_imported; the step's own rules (one culture day per day, the
    analysis after the step began) refuse it."""
    at = _day5(bench)
    analysed = at + timedelta(minutes=60)
    reading = _sample(f"{lot.din}-D5", analysed)
    first = _file(exports, reading, content=b"export one")
    second = _file(exports, reading, content=b"export one\n")  # the same export, a trailing newline added
    step = _import(bench, lot, first, at, now=analysed + timedelta(minutes=5))
    bench.verify(step)
    with pytest.raises(DomainError) as refused:
        _import(bench, lot, second, at + timedelta(minutes=30), now=analysed + timedelta(minutes=40))
    assert "already recorded" in refused.value.message


def test_a_batch_export_of_two_patients_can_serve_only_one_lot(bench, lot, counter, exports):
    """ (robustness/workflow + confidentiality): a counter's export holding the samples of two lots (a
    normal batch run) can be imported for one lot only: the second lot is refused 'already imported' (and told the
    first lot's number). The first lot's stored raw file carries the other patient's sample."""
    second_lot = bench.lot_through(StepKind.CULTURE_DAY0, din="=G12342600012400")
    at = _day5(bench)
    upload = _file(exports, _sample(lot.din, at + timedelta(minutes=1)),
                   _sample(second_lot.din, at + timedelta(minutes=2)))
    _import(bench, lot, upload, at, row=0)
    _import(bench, second_lot, upload, at, row=1)  # refused: "already imported"
    assert len(files.files_of_lot(second_lot.id)) == 1


# ---- 4. time ---------------------------------------------------------------------------------------------

def test_a_count_analysed_two_days_after_the_step_began_is_taken(bench, lot, counter, exports):
    """ (data integrity / patient safety): only 'analysed before the step began' is refused; a count made two
    days later (day 7) is signed as the culture day that began on day 5 (performed_at typed)."""
    at = _day5(bench)
    analysed = at + timedelta(days=2)
    before = _stored()
    with pytest.raises(DomainError):
        _import(bench, lot, _file(exports, _sample(lot.din, analysed)), at, now=analysed + timedelta(minutes=5))
    db.session.rollback()
    assert _stored() == before


def test_held_analysis_before_the_typed_start_and_in_the_future(bench, lot, counter, exports):
    at = _day5(bench)
    with pytest.raises(DomainError, match="before the culture day began"):
        _import(bench, lot, _file(exports, _sample(lot.din, at)), at + timedelta(minutes=5))
    db.session.rollback()
    with pytest.raises(DomainError, match="in the future"):
        _import(bench, lot, _file(exports, _sample(lot.din, at + timedelta(minutes=16))), at)
    db.session.rollback()


# ---- 5. instrument ---------------------------------------------------------------------------------------

def test_held_serial_matching_ignores_case_and_spaces_and_retired_is_refused(bench, lot, counter, exports):
    at = _day5(bench)
    _import(bench, lot, _file(exports, _sample(lot.din, at, serial=" vcb- 0042 ")), at)
    [kept] = files.files_of_lot(lot.id)
    assert kept.equipment_id == counter.id


def test_held_retired_counter_is_refused(bench, lot, counter, exports):
    at = _day5(bench)
    counter.active = False  # retired (the state only matters here)
    db.session.commit()
    with pytest.raises(DomainError, match="retired"):
        _import(bench, lot, _file(exports, _sample(lot.din, at)), at)


# ---- 7. storage and trust ----------------------------------------------------------------------------------

def _imported(bench, lot, exports):
    at = _day5(bench)
    _import(bench, lot, _file(exports, _sample(lot.din, at + timedelta(minutes=2))), at)
    [kept] = files.files_of_lot(lot.id)
    kept_id = kept.id
    db.session.rollback()
    return kept_id


@pytest.mark.parametrize("table,column,value", [
    ("instrument_files", "analysed_at", "2020-01-01 00:00:00"),
    ("instrument_files", "instrument", "Some other instrument"),
    ("instrument_values", "quantity", "9999999.0 cell / milliliter"),
    ("instrument_values", "field_key", "viability"),
])
def test_held_an_insider_rewrite_of_unsealed_columns_is_found(bench, lot, counter, exports, table, column, value):
    """HELD: the file's MAC leaves out analysed_at and instrument and instrument_values has no MAC, but `audit
    verify` compares each audited row with the trail and reports RECORD EDITED OUTSIDE THE APPLICATION."""
    _imported(bench, lot, exports)
    with past_the_triggers() as connection:
        connection.execute(text(f"UPDATE {table} SET {column} = :value"), {"value": value})
    db.session.expire_all()
    report = verify_chain(db.session)
    print("REPORT", report)
    assert not report.ok, "the rewrite went unnoticed"


def test_an_insider_downgrading_a_file_to_unkeyed_has_the_forged_bytes_served(bench, lot, counter, exports):
    """ (data integrity, high): file_sealed() accepts any record whose key_id is 'unkeyed'. An insider with SQL
    access but no key replaces the bytes, sets the new SHA-256, changes the sample ID and sets key_id='unkeyed':
    files.intact_content() (the download route) serves the forged file as the raw record. (`audit verify` does
    report it, through the trail comparison, but only when someone runs it.)"""
    import hashlib
    file_id = _imported(bench, lot, exports)
    forged = b"Sample ID,Viable cells\nG123426000123,9.9e6\n"
    with past_the_triggers() as connection:
        connection.execute(text("UPDATE instrument_files SET content = :c, sha256 = :s, size = :n, "
                                "sample_id = 'FORGED', key_id = 'unkeyed', mac = '' WHERE id = :id"),
                           {"c": forged, "s": hashlib.sha256(forged).hexdigest(), "n": len(forged), "id": file_id})
    db.session.expire_all()
    report = verify_chain(db.session)
    print("REPORT", report)
    assert not report.ok
    record = db.session.get(InstrumentFile, file_id)
    assert files.intact_content(record) is None, "the forged bytes are served as the raw record"


@pytest.mark.parametrize("statement", [
    "UPDATE instrument_files SET filename = 'x.csv'",
    "DELETE FROM instrument_values",
    "DELETE FROM instrument_files",
    "UPDATE instrument_values SET quantity = '1 percent'",
])
def test_held_append_only_tables_refuse_changes(bench, lot, counter, exports, statement):
    _imported(bench, lot, exports)
    with pytest.raises((DBAPIError, IntegrityError)):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()


# ---- 9. plausibility ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("values", [
    {**COUNTS, "viable_concentration": Q_(9.0e6, "cell / milliliter")},  # viable above total
    {**COUNTS, "viability": Q_(150.0, "percent")},
    {**COUNTS, "total_concentration": Q_(-2.5e6, "cell / milliliter")},
], ids=["viable>total", "viability-150", "negative-total"])
def test_an_implausible_count_is_refused(bench, lot, counter, exports, values):
    """ (data integrity): a count whose viable concentration exceeds the total, or whose viability
    contradicts viable/total, is signed as read."""
    at = _day5(bench)
    with pytest.raises(DomainError):
        _import(bench, lot, _file(exports, _sample(lot.din, at, values=values)), at)


# ---- 6. lot state ------------------------------------------------------------------------------------------

def _as(user, at, operation, *args):
    with clock.frozen(at):
        set_actor(db.session, user.id, user.username)
        operation(*args)
        db.session.commit()


def test_held_a_step_import_onto_a_held_lot_is_refused(bench, lot, counter, exports):
    from manufacturing.lots import operations as lots
    at = _day5(bench)
    _as(bench.qa, at - timedelta(minutes=5), lots.hold, lot, bench.qa, "investigation")
    before = _stored()
    with pytest.raises(DomainError, match="hold"):
        _import(bench, lot, _file(exports, _sample(lot.din, at)), at)
    db.session.rollback()
    assert _stored() == before


@pytest.mark.parametrize("state", ["cancelled", "on hold"])
def test_qc_results_are_refused_on_a_cancelled_lot_and_recorded_on_a_held_one(prepared, exports, state):
    """A cancelled lot takes no result; on hold, testing goes on (the investigation needs the results)."""
    from manufacturing.lots import operations as lots
    from manufacturing.materials.models import EquipmentKind
    from manufacturing.processing.models import DoseUnit
    from tests.instruments.factories import CYTOMETER_SERIAL, FLOW
    from tests.materials.factories import register
    bench, lot = prepared.bench, prepared.lot
    register(bench.qa, code="FCM-DIVA", name="FACSCanto II", kind=EquipmentKind.FLOW_CYTOMETER,
             due_in_days=365, serial_number=CYTOMETER_SERIAL)
    [dose] = db.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == lot.id)).all()
    at = dose.step.performed_at + timedelta(hours=1)
    if state == "cancelled":
        _as(bench.qa, at - timedelta(minutes=5), lots.cancel, lot, bench.qa, "patient withdrew")
    else:
        _as(bench.qa, at - timedelta(minutes=5), lots.hold, lot, bench.qa, "investigation")
    upload = _file(exports, _sample(lot.lot_number, at, FLOW, CYTOMETER_SERIAL, "BD FACSDiva"))
    with clock.frozen(at + timedelta(minutes=10)):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        if state == "cancelled":
            with pytest.raises(DomainError, match="is cancelled"):
                operations.import_results(lot, dose, upload, None, bench.technician, PASSWORD,
                                          bench.technician.username)
        else:
            assert operations.import_results(lot, dose, upload, None, bench.technician, PASSWORD,
                                             bench.technician.username)
    db.session.rollback()


@pytest.mark.parametrize("nk", [150.0, -5.0])
def test_a_flow_purity_outside_0_100_is_refused(prepared, exports, nk):
    """A FACSDiva file whose NK gate counts more events than its parent gives a purity above 100 % (the reader
    divides counts without bounds): is it refused before it is signed as a passing release result?"""
    from manufacturing.materials.models import EquipmentKind
    from manufacturing.processing.models import DoseUnit
    from tests.instruments.factories import CYTOMETER_SERIAL, FLOW
    from tests.materials.factories import register
    bench, lot = prepared.bench, prepared.lot
    register(bench.qa, code="FCM-DIVA", name="FACSCanto II", kind=EquipmentKind.FLOW_CYTOMETER,
             due_in_days=365, serial_number=CYTOMETER_SERIAL)
    [dose] = db.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == lot.id)).all()
    at = dose.step.performed_at + timedelta(hours=1)
    upload = _file(exports, _sample(lot.lot_number, at, {**FLOW, "nk_fraction": Q_(nk, "percent")},
                                    CYTOMETER_SERIAL, "BD FACSDiva"))
    with clock.frozen(at + timedelta(minutes=10)), pytest.raises(DomainError):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        operations.import_results(lot, dose, upload, None, bench.technician, PASSWORD, bench.technician.username)
    db.session.rollback()


def test_held_an_in_process_flow_tube_is_not_taken_as_the_doses_result(prepared, exports):
    from manufacturing.materials.models import EquipmentKind
    from manufacturing.processing.models import DoseUnit
    from tests.instruments.factories import CYTOMETER_SERIAL, FLOW
    from tests.materials.factories import register
    bench, lot = prepared.bench, prepared.lot
    register(bench.qa, code="FCM-DIVA", name="FACSCanto II", kind=EquipmentKind.FLOW_CYTOMETER,
             due_in_days=365, serial_number=CYTOMETER_SERIAL)
    [dose] = db.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == lot.id)).all()
    at = dose.step.performed_at - timedelta(days=1)  # a day-14 in-process tube
    upload = _file(exports, _sample(f"{lot.lot_number}-D14", at, FLOW, CYTOMETER_SERIAL, "BD FACSDiva"))
    with clock.frozen(dose.step.performed_at + timedelta(hours=1)), pytest.raises(DomainError, match="before"):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        operations.import_results(lot, dose, upload, None, bench.technician, PASSWORD, bench.technician.username)
    db.session.rollback()


def test_a_corrected_value_is_shown_beside_the_value_read_from_the_file(bench, lot, counter, exports):
    """A signed correction (with its reason) may change a value read from the file; the file's value stays, and
    the lot page and batch record say it was corrected since, and to what."""
    from manufacturing.processing import operations as steps
    at = _day5(bench)
    step = _import(bench, lot, _file(exports, _sample(lot.din, at + timedelta(minutes=2))), at)
    [kept] = files.files_of_lot(lot.id)
    assert not any("corrected" in line for line in files.taken(kept))
    given = bench.step_input(StepKind.CULTURE_DAY, at, concentration="9 x 10^6 cells/mL")
    given = replace(given, values={**given.values, "viable_concentration": "2.3 x 10^6 cells/mL",
                                   "viability": "92 %"})
    with clock.frozen(at + timedelta(minutes=30)):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        steps.correct_step(step, given, "dilution not applied", bench.technician, PASSWORD,
                           bench.technician.username)
        db.session.commit()
    [kept] = files.files_of_lot(lot.id)
    lines = files.taken(kept)
    [total] = [line for line in lines if line.startswith("Cell concentration")]
    [viable] = [line for line in lines if line.startswith("Viable cell concentration")]
    assert "as read, corrected since to 9" in total and "corrected" not in viable
