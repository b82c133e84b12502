"""FCS files attached to a lot's QC sample as raw flow data: checked as exports are, kept sealed, keywords shown."""

import io
import re
from datetime import timedelta

import flowio
import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.audit_verify import verify_chain
from manufacturing.extensions import db
from manufacturing.instruments.files import REPLACED
from manufacturing.instruments.models import InstrumentFile
from manufacturing.materials.models import Equipment, EquipmentKind
from manufacturing.processing.models import DoseUnit
from manufacturing.records.batch_sections import instrument_files
from tests.conftest import past_the_triggers
from tests.instruments.factories import CYTOMETER_SERIAL
from tests.materials.factories import register


def fcs(sample_name: str, acquired, serial: str | None = CYTOMETER_SERIAL, events: int = 4) -> bytes:
    """An FCS 3.1 file written by flowio, acquired at `acquired` (UTC) as the cytometer's local clock says."""
    local = clock.to_local(acquired)
    keywords = {"$FIL": sample_name, "$DATE": local.strftime("%d-%b-%Y").upper(), "$BTIM": local.strftime("%H:%M:%S"),
                "$CYT": "FACSCanto II"} | ({"$CYTSN": serial} if serial else {})
    written = io.BytesIO()
    flowio.create_fcs(written, [float(n) for n in range(2 * events)], ["FSC-A", "SSC-A"], metadata_dict=keywords)
    return written.getvalue()


@pytest.fixture
def unit(prepared):
    """The prepared lot's dose unit, a registered cytometer, and the hour after the dose was prepared."""
    bench, lot = prepared.bench, prepared.lot
    register(bench.qa, code="FCM-DIVA", name="FACSCanto II", kind=EquipmentKind.FLOW_CYTOMETER, due_in_days=365,
             serial_number=CYTOMETER_SERIAL)
    [dose] = db.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == lot.id)).all()
    return bench, lot, dose, dose.step.performed_at + timedelta(hours=1)


def _attach(client, lot, content: bytes, dose=None, name: str = "tube.fcs", **extra):
    data = {"fcs_file": (io.BytesIO(content), name), "dose_unit": str(dose.id) if dose else ""} | extra
    return client.post(f"/lots/{lot.id}/qc/fcs", data=data, content_type="multipart/form-data")


def _kept() -> int:
    return db.session.scalar(select(func.count()).select_from(InstrumentFile))


def test_an_fcs_file_is_kept_for_a_dose_unit_with_its_keywords_shown(client, login, unit):
    bench, lot, dose, at = unit
    login(bench.technician)
    content = fcs(f"{lot.lot_number}-{dose.division_code}.fcs", at)
    with clock.frozen(at + timedelta(minutes=30)):
        answer = _attach(client, lot, content, dose)
        assert answer.status_code == 302, answer.get_data(as_text=True)
        page = client.get(answer.location).get_data(as_text=True)
    [kept] = db.session.scalars(select(InstrumentFile)).all()
    assert (kept.dose_unit_id, kept.step_id, kept.reader, kept.serial_number) == (dose.id, None, "FCS 3.1",
                                                                                  CYTOMETER_SERIAL)
    assert kept.analysed_at == at.replace(microsecond=0)
    for shown in (kept.filename, f"{lot.lot_number}-{dose.division_code}.fcs", "FACSCanto II", "4 events",
                  f"Dose unit {dose.division_code}", "kept as the raw flow data"):
        assert shown in page
    assert client.get(f"/lots/{lot.id}/instrument-files/{kept.id}").data == content
    [line] = instrument_files(lot.id)
    assert "none (the raw data of a QC sample)" in line and kept.sha256 in line
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "instrument_file.created")) == 1
    assert verify_chain(db.session).ok


@pytest.mark.parametrize(("case", "message"), [
    ("another lot", "does not name lot"),
    ("future", "in the future"),
    ("before the lot", "before the lot was opened"),
    ("unregistered", "is not registered as equipment"),
    ("no serial", "choose the flow cytometer"),
    ("not fcs", "not an FCS data file"),
])
def test_a_refused_file_is_said_why_and_nothing_is_kept(client, login, unit, case, message):
    bench, lot, dose, at = unit
    name = "NK-1999-0042.fcs" if case == "another lot" else f"{lot.lot_number}.fcs"
    acquired = {"future": at + timedelta(days=2), "before the lot": lot.opened_at - timedelta(days=1)}.get(case, at)
    serial = {"unregistered": "XX-999", "no serial": None}.get(case, CYTOMETER_SERIAL)
    content = b"no fcs at all" if case == "not fcs" else fcs(name, acquired, serial)
    login(bench.technician)
    with clock.frozen(at + timedelta(minutes=30)):
        answer = _attach(client, lot, content, dose)
    assert answer.status_code == 422 and message in answer.get_data(as_text=True)
    assert _kept() == 0


def test_a_file_without_serial_is_kept_with_the_cytometer_chosen(client, login, unit):
    bench, lot, _, at = unit
    chosen = db.session.scalar(select(Equipment).where(Equipment.serial_number == CYTOMETER_SERIAL))
    login(bench.technician)
    with clock.frozen(at + timedelta(minutes=30)):
        answer = _attach(client, lot, fcs(f"{lot.din}.fcs", at, serial=None), None, instrument=str(chosen.id))
    assert answer.status_code == 302
    [kept] = db.session.scalars(select(InstrumentFile)).all()
    assert kept.equipment_id == chosen.id and kept.dose_unit_id is None


def test_the_same_file_is_kept_once(client, login, unit):
    bench, lot, dose, at = unit
    content = fcs(f"{lot.lot_number}.fcs", at)
    login(bench.technician)
    with clock.frozen(at + timedelta(minutes=30)):
        assert _attach(client, lot, content, dose).status_code == 302
        again = _attach(client, lot, content, dose)
    assert again.status_code == 422 and "already imported" in again.get_data(as_text=True)
    assert _kept() == 1


def test_an_oversized_file_is_refused_before_it_is_read(client, login, unit, app, monkeypatch):
    bench, lot, dose, at = unit
    monkeypatch.setitem(app.config, "INSTRUMENT_FCS_MAX_BYTES", 100)
    login(bench.technician)
    with clock.frozen(at + timedelta(minutes=30)):
        answer = _attach(client, lot, fcs(f"{lot.lot_number}.fcs", at), dose)
    assert answer.status_code in (413, 422) and _kept() == 0


def test_pharmacy_neither_sees_nor_attaches(client, login, unit):
    bench, lot, dose, at = unit
    login(bench.pharmacist)
    assert client.get(f"/lots/{lot.id}/qc/fcs").status_code == 403
    assert _attach(client, lot, fcs(f"{lot.lot_number}.fcs", at), dose).status_code == 403
    assert _kept() == 0


def test_a_file_moved_to_another_dose_unit_behind_the_application_is_found(client, login, unit):
    bench, lot, dose, at = unit
    login(bench.technician)
    with clock.frozen(at + timedelta(minutes=30)):
        assert _attach(client, lot, fcs(f"{lot.lot_number}.fcs", at), dose).status_code == 302
    db.session.rollback()
    with past_the_triggers() as connection:
        connection.execute(InstrumentFile.__table__.update().values(dose_unit_id=None))
    db.session.expire_all()
    assert REPLACED in verify_chain(db.session).kinds


def _fcs_with(keywords: dict[str, str]) -> bytes:
    written = io.BytesIO()
    flowio.create_fcs(written, [float(n) for n in range(8)], ["FSC-A", "SSC-A"], metadata_dict=keywords)
    return written.getvalue()


@pytest.mark.parametrize(("changed", "message"), [
    ({"$DATE": "01-JAN-0001", "$BTIM": "00:00:00"}, "does not say when the sample was analysed"),
    ({"$CYTSN": "FD\x0077"}, "contains"),
    ({"TUBE NAME": "NK-1999-0042 NK panel"}, "names another lot"),
    ({"$SMNO": "G123426999999"}, "names another lot"),
])
def test_a_file_that_contradicts_itself_or_cannot_be_read_is_refused(client, login, unit, changed, message):
    bench, lot, dose, at = unit
    local = clock.to_local(at)
    keywords = {"$FIL": f"{lot.lot_number}.fcs", "TUBE NAME": "NK panel", "$DATE": local.strftime("%d-%b-%Y").upper(),
                "$BTIM": local.strftime("%H:%M:%S"), "$CYT": "FACSCanto II", "$CYTSN": CYTOMETER_SERIAL} | changed
    login(bench.technician)
    with clock.frozen(at + timedelta(minutes=30)):
        answer = _attach(client, lot, _fcs_with(keywords), dose)
    assert answer.status_code == 422 and message in answer.get_data(as_text=True)
    assert _kept() == 0


def test_a_file_of_several_megabytes_is_taken_with_the_form_s_csrf_token(client, login, unit, app, monkeypatch):
    """The CSRF check reads the form before the page: the FCS page's own limit applies before it."""
    bench, lot, dose, at = unit
    login(bench.technician)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get(f"/lots/{lot.id}/qc/fcs").get_data(as_text=True))[1]
    content = fcs(f"{lot.lot_number}.fcs", at, events=400_000)
    assert len(content) > 3 * 1024 * 1024
    with clock.frozen(at + timedelta(minutes=30)):
        answer = _attach(client, lot, content, dose, csrf_token=token)
    assert answer.status_code == 302 and _kept() == 1
