"""Reading a document writes nothing: GET serves the stored revision or a copy that is not stored."""


import pytest
from sqlalchemy import func, select

from manufacturing.extensions import db
from manufacturing.processing.models import StepKind
from manufacturing.records import documents, storage
from manufacturing.records.models import DocumentKind
from manufacturing.release import operations
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.records import pdf_text


def row_counts() -> dict[str, int]:
    """The number of rows of every table, audit trail included."""
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


@pytest.fixture
def released(released_dose):
    return released_dose.dose


def document_urls(dose) -> list[str]:
    return [f"/records/lots/{dose.lot_id}/batch-record.pdf", f"/records/doses/{dose.id}/certificate.pdf",
            f"/records/doses/{dose.id}/label", f"/release/doses/{dose.id}/certificate", f"/lots/{dose.lot_id}"]


def test_downloads_store_no_revision_and_no_row(client, login, database, bench, released):
    login(bench.qa)
    before = row_counts()
    responses = [client.get(url) for url in document_urls(released)]
    db.session.rollback()
    assert row_counts() == before
    assert [r.status_code for r in responses] == [200, 200, 405, 200, 200]
    latest = storage.latest(DocumentKind.BATCH_RECORD, released.lot)
    served = responses[0]
    assert served.headers.get("X-Content-SHA256") == latest.sha256 or "not stored" in pdf_text(served.data)


def test_a_changed_record_is_served_without_a_new_revision(app, client, login, database, bench, released):
    with app.test_request_context():
        stored = documents.batch_record(released.lot, bench.qa)
        database.session.commit()
    login(bench.qa)
    served = client.get(f"/records/lots/{released.lot_id}/batch-record.pdf")
    assert served.headers["X-Content-SHA256"] == stored.sha256 and served.data == stored.content
    bench._as(bench.qa, bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 4), operations.reject_dose, released,
              bench.qa, PASSWORD, bench.qa.username, "Bag leaked during transport")
    before = row_counts()
    changed = client.get(f"/records/lots/{released.lot_id}/batch-record.pdf")
    db.session.rollback()
    assert row_counts() == before and changed.status_code == 200
    assert "X-Content-SHA256" not in changed.headers and "revision 1" in pdf_text(changed.data)


def test_qa_stores_a_revision_on_purpose(client, login, database, bench, released):
    url = f"/records/lots/{released.lot_id}/batch-record"
    login(bench.technician)
    assert client.post(url).status_code == 403
    login(bench.qa)
    assert client.post(url).status_code == 302
    stored = storage.latest(DocumentKind.BATCH_RECORD, released.lot)
    assert stored.kind == DocumentKind.BATCH_RECORD and stored.created_by_id == bench.qa.id
    served = client.get(f"{url}.pdf")
    assert served.headers["X-Content-SHA256"] == stored.sha256
    count = len(storage.revisions(released.lot))
    assert client.post(url).status_code == 302 and len(storage.revisions(released.lot)) == count  # unchanged


def test_the_command_line_reads_unless_told_to_store(app, database, released, tmp_path):
    runner, output = app.test_cli_runner(), tmp_path / "br.pdf"
    before = row_counts()
    lot_number = released.lot.lot_number
    for args in (["records", "batch-record", lot_number], ["records", "coa", f"{lot_number}/A0"]):
        result = runner.invoke(args=[*args, "-o", str(output)])
        assert result.exit_code == 0, result.output
    db.session.rollback()
    assert row_counts() == before
    stored = runner.invoke(args=["records", "batch-record", lot_number, "-o", str(output), "--store"])
    assert stored.exit_code == 0, stored.output
    document = storage.latest(DocumentKind.BATCH_RECORD, released.lot)
    assert output.read_bytes() == document.content
