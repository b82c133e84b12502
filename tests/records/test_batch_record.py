"""The executed batch record: identifiers, values with units, signatures, corrections, the audit appendix."""

import io
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from manufacturing.processing import operations
from manufacturing.processing.models import StepKind
from manufacturing.records import documents
from tests.factories import PASSWORD

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def corrected_lot(database, bench, prepared):
    """A complete lot whose CD3 depletion viability was corrected after verification."""
    lot = prepared.lot
    step = operations.lot_steps(lot)[1]
    given = bench.step_input(StepKind.CD3_DEPLETION, step.performed_at, viability="94 %")
    bench._as(bench.technician, bench.at(20 * 24), operations.correct_step, step, given,
              "Viability misread from the counter printout", bench.technician, PASSWORD, bench.technician.username)
    return lot


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_record_states_what_an_inspector_needs(app, database, bench, corrected_lot):
    with app.test_request_context():
        document = documents.batch_record(corrected_lot, bench.qa)
        database.session.commit()
    text = text_of(document.content)
    assert corrected_lot.lot_number in text and "G1234 26 000123" in text and "LAL2013-RM-001" in text
    assert "Page 1 of" in text and "nk-cells-autologous version 1.1" in text
    assert "Volume received: 185 mL" in text and "Total nucleated cells (TNC) 1.48 × 10" in text
    assert "Tina Tecnica (tech.one) · Performed ·" in text and "Vito Verifica (tech.two) · Verified ·" in text
    assert "(UTC+0" in text
    assert "corrected: was 95 %; Viability misread from the counter printout (tech.one," in text
    assert "BROKEN" in text  # the signatures made before the correction
    assert "Appendix: audit trail" in text and "step_value.updated" in text
    assert "Culture log" in text and "Dose calculation" in text


def test_the_record_is_pdf_a_with_metadata(app, database, bench, corrected_lot):
    with app.test_request_context():
        pdf = documents.render_batch_record(corrected_lot)
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata.title == f"Executed batch record {corrected_lot.lot_number}"
    assert reader.metadata.author and corrected_lot.lot_number in reader.metadata.subject
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode("utf-8")
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp


def test_stored_once_per_version_of_the_record(app, database, bench, corrected_lot):
    with app.test_request_context():
        first = documents.batch_record(corrected_lot)
        database.session.commit()
        again = documents.batch_record(corrected_lot)
        assert (again.id, again.sha256) == (first.id, first.sha256)
        step = operations.lot_steps(corrected_lot)[1]
        bench._as(bench.verifier, bench.at(21 * 24), operations.verify_step, step, bench.verifier, PASSWORD,
                  bench.verifier.username)
        changed = documents.batch_record(corrected_lot)
        database.session.commit()
    assert changed.revision == 2 and changed.sha256 != first.sha256 and "revision 1" in changed.reason


def test_a_page_is_rendered_to_png_for_a_person_to_look_at(app, database, bench, corrected_lot, tmp_path):
    with app.test_request_context():
        pdf = documents.render_batch_record(corrected_lot)
    source = tmp_path / "batch-record.pdf"
    source.write_bytes(pdf)
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "2", str(source),
                    str(ARTIFACTS / "batch-record")], check=True)
    pages = sorted(ARTIFACTS.glob("batch-record-*.png"))
    assert pages and pages[0].stat().st_size > 10_000


def test_downloads_and_command_line(app, client, login, database, bench, corrected_lot, tmp_path):
    login(bench.qa)
    assert client.post(f"/records/lots/{corrected_lot.id}/batch-record").status_code == 302  # QA stores it
    response = client.get(f"/records/lots/{corrected_lot.id}/batch-record.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    runner = app.test_cli_runner()
    output = tmp_path / "br.pdf"
    result = runner.invoke(args=["records", "batch-record", corrected_lot.lot_number, "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert output.read_bytes() == response.data  # served from storage: the same revision
    listing = runner.invoke(args=["lots", "list"]).output
    assert f"{corrected_lot.lot_number}\tG123426000123" in listing and "Doses prepared" in listing
