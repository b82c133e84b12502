"""A lot with an out-of-specification result: its batch record, lot, release and audit pages still open."""

from datetime import date, timedelta
from functools import partial

import pytest
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseState, StepKind
from manufacturing.quality import operations as quality
from manufacturing.quality.models import Deviation
from manufacturing.records import storage
from manufacturing.records.batch_record import build_batch_record
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.records import pdf_text
from tests.release.factories import record_results, retest

FAILING = {"viability": ("50 %", "Viability"), "sterility": ("growth", "Sterility")}


@pytest.fixture(params=sorted(FAILING))
def failed(request, bench, prepared):
    """A prepared lot whose dose unit has every result in, one of them out of specification."""
    lot = prepared.lot
    dose = doses_of(lot)[0]
    entered, name = FAILING[request.param]
    qc_time = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    record_results(bench, lot, dose, qc_time, **{request.param: entered})
    return dose, name, qc_time


def oos_deviation(database, dose) -> Deviation:
    return database.session.scalars(select(Deviation).where(Deviation.lot_id == dose.lot_id)).one()


def test_the_qc_section_shows_the_oos_result_with_its_investigation(app, database, failed):
    dose, name, _ = failed
    deviation = oos_deviation(database, dose)
    with app.test_request_context():
        [unit] = build_batch_record(dose.lot).qc
    [line] = [line for line in unit["lines"] if line["test"] == name]
    assert line["oos"] and line["outcome"] == "fail"
    assert f"[OOS, investigation {deviation.number} (Open)]" in line["history"]
    assert line["investigations"] == [f"{deviation.number} (Open)"]


def test_the_batch_record_downloads_and_writes_from_the_command_line(app, client, login, database, bench, failed,
                                                                    tmp_path):
    dose, name, _ = failed
    number = oos_deviation(database, dose).number
    login(bench.qa)
    response = client.get(f"/records/lots/{dose.lot_id}/batch-record.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert name in text and "OOS" in text and f"investigation {number}" in text
    output = tmp_path / "br.pdf"
    result = app.test_cli_runner().invoke(args=["records", "batch-record", dose.lot.lot_number, "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes().startswith(b"%PDF")


def test_lot_release_and_audit_pages_open(client, login, database, bench, failed):
    dose, *_ = failed
    number = oos_deviation(database, dose).number
    login(bench.qa)
    for url in (f"/lots/{dose.lot_id}", f"/release/doses/{dose.id}", f"/qc/lots/{dose.lot_id}"):
        assert client.get(url).status_code == 200, url
    trail = client.get(f"/audit/?scope=lot:{dose.lot_id}&action=qc_result.out_of_specification")
    assert trail.status_code == 200 and f"<ins>{number}</ins>" in trail.get_data(as_text=True)


def test_an_exceptional_release_stores_the_record_of_the_failing_lot(client, login, database, bench, failed):
    dose, _, qc_time = failed
    deviation = oos_deviation(database, dose)
    bench._as(bench.qa, qc_time + timedelta(minutes=30), partial(quality.assess, affects_product=True), deviation,
              bench.qa, "Assessed with the treating physician")
    bench._as(bench.qa, qc_time + timedelta(minutes=40), quality.close, deviation, bench.qa, PASSWORD,
              bench.qa.username)
    login(bench.qa)
    with clock.frozen(qc_time + timedelta(hours=1)):
        response = client.post(f"/release/doses/{dose.id}/release", data={
            "sign_username": bench.qa.username, "sign_password": PASSWORD,
            "justification": "No alternative product", "physician_name": "Dr. Anna Conti",
            "physician_acknowledged_on": date(2026, 1, 5).isoformat()})
    assert response.status_code == 302
    database.session.refresh(dose)
    assert dose.state in (DoseState.RELEASED, DoseState.RELEASED_INTERIM)
    assert {doc.kind.name for doc in storage.revisions(dose.lot)} == {"CERTIFICATE", "BATCH_RECORD"}
    assert client.get(f"/release/doses/{dose.id}").status_code == 200
    assert client.get(f"/lots/{dose.lot_id}").status_code == 200


def test_a_recounted_dose_is_written_in_the_history_as_the_certificate_writes_it(app, client, login, bench, prepared):
    """Each count in the history is the dose per kg as judged, with the count entered beside it."""
    dose = doses_of(prepared.lot)[0]
    qc_time = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    record_results(bench, prepared.lot, dose, qc_time)
    retest(bench, prepared.lot, dose, "dose", "6.5e7 cells", qc_time + timedelta(hours=1),
           "Retained sample counted again")
    with app.test_request_context():
        [unit] = build_batch_record(dose.lot).qc
    [line] = [line for line in unit["lines"] if line["test"] == "Dose"]
    first, second = line["history"].split(" → ")
    assert first == "1.00 × 10⁶ cells/kg (6.40 × 10⁷ cells)"
    assert second == f"{line['result']} [retest]" == "1.02 × 10⁶ cells/kg (6.50 × 10⁷ cells) [retest]"
    login(bench.qa)  # and QA's review, where the release is decided, writes the history the same way
    review = client.get(f"/release/doses/{dose.id}").get_data(as_text=True)
    assert "1.00 × 10⁶ cells/kg (6.40 × 10⁷ cells)</div>" in review
    assert "1.02 × 10⁶ cells/kg (6.50 × 10⁷ cells) <small>(retest)</small></div>" in review
