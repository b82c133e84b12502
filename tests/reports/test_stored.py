"""The trial report as a PDF: rendered, stored once per state of the records, served as stored, sealed."""

import hashlib

from sqlalchemy import func, select

from manufacturing.core.audit import AuditEvent, set_actor
from manufacturing.extensions import db
from manufacturing.quality import operations as quality
from manufacturing.quality.models import DeviationClass
from manufacturing.reports import stored
from manufacturing.reports.models import StoredTrialReport
from tests.dispensing.factories import give
from tests.records import pdf_text


def _download(client):
    return client.post("/reports/report.pdf")


def test_the_pdf_report_is_stored_once_per_state_of_the_records(client, login, ward):
    give(ward)
    login(ward.bench.qa)
    first = _download(client)
    assert first.status_code == 200 and first.mimetype == "application/pdf"
    text = pdf_text(first.data)
    assert "Trial report" in text and ward.lot.lot_number in text and "Timeline of each patient" in text
    assert "T-cell depletion and NK recovery per step" in text and "CD3+ cells given" in text
    assert _download(client).data == first.data  # nothing changed: the stored revision is served
    [only] = db.session.scalars(select(StoredTrialReport)).all()
    assert (only.revision, only.sha256) == (1, hashlib.sha256(first.data).hexdigest())
    assert stored.intact(only) and stored.replaced_reports(db.session) == []
    events = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.entity_type == "trial_report"))
    assert events == 1

    set_actor(db.session, ward.bench.technician.id, ward.bench.technician.username)
    quality.open_deviation(ward.lot, ward.bench.technician, DeviationClass.MINOR, "Late sampling", "40 min late",
                           "Noted")
    db.session.commit()
    second = _download(client)
    assert second.data != first.data
    assert [item.revision for item in stored.revisions(db.session)] == [2, 1]
    again = client.get("/reports/report-1.pdf")
    assert again.status_code == 200 and again.data == first.data
    assert client.get("/reports/report-9.pdf").status_code == 404
    page = client.get("/reports/").get_data(as_text=True)
    assert "Download the PDF report" in page and only.sha256[:16] in page


def test_a_technician_gets_no_report(client, login, ward):
    login(ward.bench.technician)
    assert _download(client).status_code == 403
    assert client.get("/reports/report-1.pdf").status_code == 403


def test_on_sqlite_the_pdf_is_rendered_with_no_transaction_open(client, login, ward, monkeypatch):
    """Rendering takes seconds: under SQLite's write lock every other writer of the site would wait for it."""
    rendering = stored.render
    open_while_rendering = []

    def render(*args):
        open_while_rendering.append(db.session().in_transaction())
        return rendering(*args)

    monkeypatch.setattr(stored, "render", render)
    login(ward.bench.qa)
    assert _download(client).status_code == 200
    sqlite = db.engine.dialect.name == "sqlite"
    assert open_while_rendering == [not sqlite]
    assert [item.revision for item in stored.revisions(db.session)] == [1]
