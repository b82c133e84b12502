"""The sponsor's export: every table round-trips through the csv module, the zip verifies, every export is audited."""

import csv
import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from manufacturing.core.audit import AuditEvent
from manufacturing.core.audit_verify import verify_chain
from manufacturing.dispensing.models import Administration, Issue
from manufacturing.extensions import db
from manufacturing.patients.models import Subject
from manufacturing.processing.models import DoseUnit, StepValue
from manufacturing.quality.models import QcResult
from manufacturing.release.models import Disposition
from manufacturing.reports.export import TABLES
from manufacturing.units import Q_, lab_unit
from tests.dispensing.factories import give
from tests.factories import make_user


def _rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"), newline="")))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def given(ward):
    """The ward's fresh unit issued, checked and given: every table has rows."""
    give(ward)
    return ward


def _download_zip(client) -> zipfile.ZipFile:
    answer = client.post("/reports/export/trial.zip")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    return zipfile.ZipFile(io.BytesIO(answer.data))


def test_the_whole_trial_exports_as_a_zip_whose_manifest_and_sums_verify(client, login, given):
    login(given.bench.qa)
    archive = _download_zip(client)
    manifest = json.loads(archive.read("manifest.json"))
    assert [entry["file"] for entry in manifest["files"]] == [table.filename for table in TABLES]
    sums = dict(reversed(line.split("  ")) for line in archive.read("SHA256SUMS").decode().splitlines())
    assert sums["manifest.json"] == hashlib.sha256(archive.read("manifest.json")).hexdigest()
    for entry in manifest["files"]:
        content = archive.read(entry["file"])
        assert hashlib.sha256(content).hexdigest() == entry["sha256"] == sums[entry["file"]]
        rows = _rows(content)
        assert len(rows) == entry["rows"]
        assert list(rows[0]) if rows else True
        header = next(csv.reader(io.StringIO(content.decode())))
        assert header == [column["name"] for column in entry["columns"]]
    counts = {entry["file"]: entry["rows"] for entry in manifest["files"]}
    assert counts == {"subjects.csv": _count(Subject), "lots.csv": counts["lots.csv"],
                      "step_values.csv": _count(StepValue), "step_calculations.csv": counts["step_calculations.csv"],
                      "dose_units.csv": _count(DoseUnit), "qc_results.csv": _count(QcResult),
                      "dispositions.csv": _count(Disposition), "issues.csv": _count(Issue),
                      "administrations.csv": _count(Administration), "deviations.csv": counts["deviations.csv"]}
    assert counts["issues.csv"] == counts["administrations.csv"] == 1 and counts["dispositions.csv"] >= 2


def test_values_round_trip_with_their_units(client, login, given):
    login(given.bench.qa)
    archive = _download_zip(client)
    by_key = {(row["lot_number"], row["step"], row["culture_day"], row["field"]): row
              for row in _rows(archive.read("step_values.csv"))}
    for value in db.session.scalars(select(StepValue).where(StepValue.quantity.is_not(None))):
        step = value.step
        row = by_key[(step.lot.lot_number, step.kind.name, "" if step.day_number is None else str(step.day_number),
                      value.key)]
        assert row["entered"] == value.entered
        assert Q_(float(row["value"]), lab_unit(row["unit"])).to(value.quantity.units).magnitude == pytest.approx(
            value.quantity.magnitude, rel=1e-12)
    units = {row["dose_unit"]: row for row in _rows(archive.read("dose_units.csv"))}
    fresh = units[given.fresh.division_code]
    assert float(fresh["target_dose"]) == given.fresh.target_dose_per_kg.m_as(lab_unit("cells/kg"))
    assert float(fresh["cells"]) == given.fresh.cells.m_as(lab_unit("cells"))
    [given_row] = _rows(archive.read("administrations.csv"))
    assert (given_row["dose_unit"], given_row["volume_infused"]) == (given.fresh.division_code, "50.0")
    manifest = json.loads(archive.read("manifest.json"))
    units_of = {column["name"]: column["unit"] for entry in manifest["files"] if entry["file"] == "dose_units.csv"
                for column in entry["columns"]}
    assert (units_of["target_dose"], units_of["cells"], units_of["final_volume"]) == ("cells/kg", "cells", "mL")


def test_subjects_are_pseudonymised(client, login, given):
    login(given.bench.qa)
    subject = db.session.scalar(select(Subject))
    content = client.post("/reports/export/subjects.csv").get_data(as_text=True)
    [row] = _rows(content.encode())
    assert row["subject_id"] == subject.subject_code and set(row) == {
        "subject_id", "sex", "age_at_enrolment", "site", "enrolled_on", "off_study_on", "off_study_reason"}
    assert (row["off_study_on"], row["off_study_reason"]) == ("", "")
    assert subject.initials not in content.replace(subject.subject_code, "")
    assert subject.date_of_birth.isoformat() not in content


def test_every_export_is_audited_with_what_it_held(client, login, given):
    login(given.bench.qa)
    table = client.post("/reports/export/qc_results.csv")
    archive = client.post("/reports/export/trial.zip")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("export."))
                                .order_by(AuditEvent.id)).all()
    assert [event.action for event in events] == ["export.table", "export.trial"]
    assert json.loads(events[0].changes)["sha256"]["new"] == hashlib.sha256(table.data).hexdigest()
    assert json.loads(events[1].changes)["sha256"]["new"] == hashlib.sha256(archive.data).hexdigest()
    assert all(event.username == given.bench.qa.username for event in events)
    assert verify_chain(db.session).ok


def test_investigators_and_qa_export_others_do_not(client, login, given):
    investigator = make_user("inv.one", roles=("INVESTIGATOR",))
    login(investigator)
    assert client.get("/reports/").status_code == 200
    assert client.post("/reports/export/lots.csv").status_code == 200
    assert client.post("/reports/export/no_such_table.csv").status_code == 404
    assert client.get("/reports/export/lots.csv").status_code == 405
    for user in (given.bench.technician, given.bench.pharmacist):
        login(user)
        assert client.get("/reports/").status_code == 403
        assert client.post("/reports/export/trial.zip").status_code == 403


def test_an_investigator_s_home_leads_to_the_reports(client, login, database):
    login(make_user("inv.two", roles=("INVESTIGATOR",)))
    page = client.get("/").get_data(as_text=True)
    assert "Trial reports and data export" in page and 'href="/reports/"' in page


def test_a_text_a_spreadsheet_would_run_is_written_after_an_apostrophe(client, login, given):
    from manufacturing.core.audit import set_actor
    from manufacturing.quality import operations as quality
    from manufacturing.quality.models import DeviationClass

    set_actor(db.session, given.bench.technician.id, given.bench.technician.username)
    quality.open_deviation(given.lot, given.bench.technician, DeviationClass.MINOR, '=HYPERLINK("http://x.example")',
                           "-5 min late, @ the hood", "+noted")
    db.session.commit()
    login(given.bench.qa)
    [row] = _rows(client.post("/reports/export/deviations.csv").data)
    assert row["title"] == "'=HYPERLINK(\"http://x.example\")"
    temperatures = [row["value"] for row in _rows(client.post("/reports/export/step_values.csv").data)
                    if row["value"].startswith("-")]
    assert all(float(value) < 0 for value in temperatures)  # a negative number stays a number


def test_the_manifest_names_nobody(client, login, given):
    login(given.bench.qa)
    archive = _download_zip(client)
    text = b"".join(archive.read(name) for name in archive.namelist()).decode()
    for user in (given.bench.qa, given.bench.technician, given.bench.verifier, given.bench.pharmacist):
        assert user.username not in text and user.full_name not in text
    assert given.lot.din not in text
