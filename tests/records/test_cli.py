"""Documents from the command line: certificate and label of a dose unit given as LOT/DIVISION."""

from datetime import timedelta

from pypdf import PdfReader

from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import StepKind
from manufacturing.release import operations
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.release.factories import record_results


def test_certificate_and_label_from_the_command_line(app, database, bench, tmp_path):
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    dose = doses_of(lot)[0]
    at = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    record_results(bench, lot, dose, at)
    bench._as(bench.qa, at + timedelta(hours=1), operations.release_dose, dose, bench.qa, PASSWORD, bench.qa.username)
    runner = app.test_cli_runner()
    reference = f"{lot.lot_number}/A0"
    coa, label, again = tmp_path / "coa.pdf", tmp_path / "label.pdf", tmp_path / "label2.pdf"
    assert runner.invoke(args=["records", "coa", reference, "-o", str(coa)]).exit_code == 0
    assert "Certificate of analysis" in PdfReader(coa).pages[0].extract_text()
    assert runner.invoke(args=["records", "label", reference, "-o", str(label)]).exit_code == 0
    refused = runner.invoke(args=["records", "label", reference, "-o", str(again)])
    assert refused.exit_code != 0 and "reason" in refused.output.lower()
    reprint = runner.invoke(args=["records", "label", reference, "-o", str(again), "--reason", "Smudged"])
    assert reprint.exit_code == 0 and "REPRINT 2" in PdfReader(again).pages[0].extract_text()
    missing = runner.invoke(args=["records", "coa", f"{lot.lot_number}/Z9", "-o", str(coa)])
    assert missing.exit_code != 0 and "No dose unit" in missing.output
