"""Released certificates and batch records are stored signed by the site; `records verify` checks a file."""

import hashlib
import io
import shutil
import subprocess
from datetime import timedelta

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader
from sqlalchemy import select

from manufacturing.core.errors import DomainError
from manufacturing.core.site_certificate import MISSING, signing_problem
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import StepKind
from manufacturing.records import coa, documents, signing, storage
from manufacturing.records.models import DocumentKind, StoredDocument
from manufacturing.records.site_certificate import write
from manufacturing.records.verification import verify_file
from manufacturing.release import operations
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.release.factories import record_results


def _stored(kind: DocumentKind) -> list[StoredDocument]:
    return list(storage.db.session.scalars(select(StoredDocument).where(StoredDocument.kind == kind)
                                           .order_by(StoredDocument.id)))


def _signature(content: bytes) -> dict:
    """The signature dictionary of the one signature field, as pypdf reads it."""
    fields = PdfReader(io.BytesIO(content)).get_fields()
    assert list(fields) == [signing.FIELD_NAME]
    return fields[signing.FIELD_NAME]["/V"]


def _text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _verify(app, content: bytes, tmp_path):
    path = tmp_path / "document.pdf"
    path.write_bytes(content)
    return app.test_cli_runner().invoke(args=["records", "verify", str(path)])


def test_a_release_stores_certificate_and_batch_record_signed_for_it(ward):
    certificates, records = _stored(DocumentKind.CERTIFICATE), _stored(DocumentKind.BATCH_RECORD)
    assert len(certificates) == 2 and len(records) == 2
    for document in certificates + records:
        signature = _signature(document.content)
        assert signature["/SubFilter"] == "/ETSI.CAdES.detached"
        assert signature["/Reason"] == "Released by QA: Quinta Qualita, Released"
        assert signature["/Name"] == signature["/Location"] == "Cell Therapy GMP Facility"
        assert document.sha256 == hashlib.sha256(document.content).hexdigest()


def test_the_signed_certificate_keeps_its_pdf_a_identification_and_one_producer(ward):
    reader = PdfReader(io.BytesIO(_stored(DocumentKind.CERTIFICATE)[0].content))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert f'pdf:Producer="{reader.metadata["/Producer"]}"' in xmp


def test_labels_and_copies_not_stored_are_not_signed(ward):
    label = _stored(DocumentKind.LABEL)[0]
    assert PdfReader(io.BytesIO(label.content)).get_fields() is None
    stored = coa.coa_copy(ward.frozen)
    assert stored.sha256 is not None and _signature(stored.content), "a certificate is served as stored, signed"
    copy = documents.batch_record_copy(ward.lot)  # the label prints changed the record since the release
    assert copy.sha256 is None and "not stored" in _text(copy.content)
    assert PdfReader(io.BytesIO(copy.content)).get_fields() is None


def test_the_stored_bytes_verify(app, ward, tmp_path):
    document = _stored(DocumentKind.CERTIFICATE)[0]
    result = _verify(app, document.content, tmp_path)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert f"Certificate of analysis of lot {ward.lot.lot_number}, dose unit {ward.lot.lot_number}/" in result.output
    assert "revision 1" in result.output and "Verified" in result.output


def _flipped(content: bytes) -> bytes:
    """Flip one byte in the middle of the first page's content, inside the signed range."""
    at = content.index(b"stream\n", len(content) // 4) + 40
    return content[:at] + bytes([content[at] ^ 0x01]) + content[at + 1:]


def _appended(content: bytes) -> bytes:
    """Append an incremental update (a changed title) after the signature."""
    writer = IncrementalPdfFileWriter(io.BytesIO(content))
    info = writer.trailer["/Info"]
    info[generic.NameObject("/Title")] = generic.TextStringObject("Changed after signing")
    writer.update_container(info)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _use_certificate(monkeypatch, app, certificate, key) -> None:
    """Point the app at another certificate and key for this test only."""
    monkeypatch.setitem(app.config, "SIGNING_CERT", str(certificate))
    monkeypatch.setitem(app.config, "SIGNING_KEY", str(key))


@pytest.mark.parametrize(("change", "failure"), [
    (_flipped, "broken"),
    (_appended, "Something was added to the file after the signature"),
])
def test_a_changed_file_fails(app, ward, tmp_path, change, failure):
    document = _stored(DocumentKind.CERTIFICATE)[0]
    result = _verify(app, change(document.content), tmp_path)
    assert result.exit_code != 0
    assert failure in result.output and "NOT verified" in result.output
    assert "No stored document has this file's SHA-256" in result.output


def test_a_file_signed_with_another_certificate_fails(app, ward, tmp_path, monkeypatch):
    unsigned = _stored(DocumentKind.LABEL)[0].content
    with monkeypatch.context() as other_site:
        write(tmp_path / "other.pem", tmp_path / "other-key.pem", "Cell Therapy GMP Facility", 30)
        _use_certificate(other_site, app, tmp_path / "other.pem", tmp_path / "other-key.pem")
        other = signing.sign_pdf(unsigned, "Released by QA: Someone Else, Released")
    result = _verify(app, other, tmp_path)
    assert result.exit_code != 0
    assert "PASS  Signature 'SiteSignature': the signed content is unchanged" in result.output
    assert "was made with another certificate" in result.output


def test_a_valid_signature_on_a_file_never_stored_fails(app, ward, tmp_path):
    signed = signing.sign_pdf(_stored(DocumentKind.LABEL)[0].content, "Released by QA: Quinta Qualita, Released")
    findings = verify_file(signed)
    assert [finding.passed for finding in findings] == [True, True, True, False]
    assert "No stored document has this file's SHA-256" in findings[-1].text


def test_an_unsigned_file_fails_even_when_stored(app, ward, tmp_path):
    result = _verify(app, _stored(DocumentKind.LABEL)[0].content, tmp_path)
    assert result.exit_code != 0
    assert "carries no signature" in result.output
    assert "PASS  The file is the stored Bag label" in result.output


def test_outside_testing_a_release_needs_the_site_certificate(app, database, tmp_path, monkeypatch):
    _use_certificate(monkeypatch, app, tmp_path / "none.pem", tmp_path / "none-key.pem")
    assert signing_problem() is None, "a test run without the certificate stores documents unsigned"
    monkeypatch.setattr(app, "testing", False)
    assert signing_problem() == MISSING
    with pytest.raises(signing.SigningRefused, match="signing certificate is not in place"):
        signing.signed(b"%PDF", "Released by QA: Quinta Qualita, Released")


def test_make_site_cert_writes_an_owner_only_key_and_never_replaces_it(app, database, tmp_path, monkeypatch):
    _use_certificate(monkeypatch, app, tmp_path / "c.pem", tmp_path / "k.pem")
    runner = app.test_cli_runner()
    made = runner.invoke(args=["records", "make-site-cert", "--common-name", "Demo Site", "--days", "2"])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    assert b"BEGIN CERTIFICATE" in (tmp_path / "c.pem").read_bytes()
    again = runner.invoke(args=["records", "make-site-cert"])
    assert again.exit_code != 0 and "not replaced" in again.output


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_a_signed_certificate_still_renders_and_poppler_lists_its_signature(ward, tmp_path):
    path = tmp_path / "coa.pdf"
    path.write_bytes(_stored(DocumentKind.CERTIFICATE)[0].content)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
                   check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 10_000
    if shutil.which("pdfsig"):
        listed = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout
        assert "Signature #1" in listed and "Cell Therapy GMP Facility" in listed


def test_outside_testing_the_release_is_refused_without_the_site_certificate(app, bench, tmp_path, monkeypatch):
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    dose = doses_of(lot)[0]
    at = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    record_results(bench, lot, dose, at)
    _use_certificate(monkeypatch, app, tmp_path / "none.pem", tmp_path / "none-key.pem")
    monkeypatch.setattr(app, "testing", False)
    with pytest.raises(DomainError, match="signing certificate is not in place"):
        bench._as(bench.qa, at + timedelta(hours=1), operations.release_dose, dose, bench.qa, PASSWORD,
                  bench.qa.username)
    storage.db.session.rollback()
    assert _stored(DocumentKind.CERTIFICATE) == [] and dose.state.name == "QUARANTINE"
