"""Every document prints a release result the same way: batch record, certificate and review agree."""

import json
from datetime import timedelta

from manufacturing.core import clock
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseState, StepKind
from manufacturing.records import documents
from manufacturing.records.batch_record import build_batch_record
from manufacturing.release import operations
from manufacturing.release.certificate import Certificate
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.records import pdf_text
from tests.release.factories import record, record_results


def released_with_every_result(bench):
    """A unit released on its final certificate: every result in, sterility read after the interim release."""
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    dose = doses_of(lot)[0]
    at = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    record_results(bench, lot, dose, at)
    bench._as(bench.qa, at + timedelta(hours=1), operations.release_dose, dose, bench.qa, PASSWORD, bench.qa.username)
    record(bench, lot, dose, "sterility", "no growth", at + timedelta(days=7))
    bench._as(bench.qa, at + timedelta(days=7, hours=1), operations.release_final, dose, bench.qa, PASSWORD,
              bench.qa.username)
    assert dose.state == DoseState.RELEASED
    return dose


def test_the_batch_record_prints_each_result_as_the_certificate_does(app, database, bench):
    dose = released_with_every_result(bench)
    certificate = Certificate.from_dict(json.loads(operations.latest_disposition(dose).certificate))
    with app.test_request_context():
        [unit] = build_batch_record(dose.lot).qc
    printed = {line["test"]: (line["result"], line["outcome"]) for line in unit["lines"]}
    assert len(printed) == len(certificate.lines) and not certificate.pending
    for line in certificate.lines:
        assert printed[line.test] == (line.result, line.outcome), line.test
    assert printed["CD3+ cells per kg"][0].endswith("cells/kg")


def test_the_printed_record_and_the_review_show_the_computed_result(app, client, login, database, bench):
    dose = released_with_every_result(bench)
    certificate = Certificate.from_dict(json.loads(operations.latest_disposition(dose).certificate))
    [computed] = [line for line in certificate.lines if line.test == "CD3+ cells per kg"]
    with clock.frozen(clock.now()), app.test_request_context():
        text = pdf_text(documents.render_batch_record(dose.lot))
    assert f"CD3+ cells per kg ({computed.criterion}): {computed.result} — pass" in text
    login(bench.qa)
    review = client.get(f"/release/doses/{dose.id}").get_data(as_text=True)
    assert f"<td>{computed.result}</td>" in review
