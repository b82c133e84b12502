"""Certificates of analysis: what QA signed, interim marks, signatures, one stored revision per disposition."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import set_actor, set_reason
from manufacturing.core.errors import DomainError
from manufacturing.core.signatures import manifestation, signatures_of
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import StepKind
from manufacturing.quality import operations as quality
from manufacturing.quality.models import Deviation
from manufacturing.records import storage
from manufacturing.records.coa import coa_pdf
from manufacturing.records.models import DocumentKind, StoredDocument
from manufacturing.release import operations as release
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.records import is_pdfa3b, page_size_mm, page_texts, pdf_text, reader, render_png
from tests.release.factories import record, record_results


@pytest.fixture
def dose(prepared):
    return doses_of(prepared.lot)[0]


@pytest.fixture
def qc_time(bench):
    return bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)


def decide(database, at, operation, *args, **kwargs):
    """Run a release operation as QA at a given time and commit."""
    with clock.frozen(at):
        disposition = operation(*args, **kwargs)
        database.session.commit()
    return disposition


def interim(database, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time)
    return decide(database, qc_time + timedelta(hours=1), release.release_dose, dose, bench.qa, PASSWORD,
                  bench.qa.username)


def certificate(database, bench, dose):
    """Ask for the certificate as QA would from the page, and commit."""
    set_actor(database.session, bench.qa.id, bench.qa.username)
    document = coa_pdf(dose, bench.qa)
    database.session.commit()
    return document


def test_an_interim_certificate_states_what_qa_signed(database, bench, dose, qc_time):
    disposition = interim(database, bench, dose, qc_time)
    document = certificate(database, bench, dose)
    assert (document.kind, document.revision, document.dose_unit_id) == (DocumentKind.CERTIFICATE, 1, dose.id)
    pdf, lot_number = document.content, dose.lot.lot_number
    assert page_size_mm(pdf) == (210.0, 297.0) and is_pdfa3b(pdf)
    metadata = reader(pdf).metadata
    assert metadata.title == f"Certificate of analysis (interim) {lot_number} A0"
    assert metadata.subject.startswith("INTERIM certificate") and metadata.author == "Cell Therapy GMP Facility"
    pages = page_texts(pdf)
    for number, page in enumerate(pages, start=1):  # the header of every page
        assert "Certificate of analysis A0 — INTERIM" in page and f"LOT {lot_number}" in page
        assert "DIN G1234 26 000123 L" in page and "SUBJECT ID LAL2013-RM-001" in page
        assert f"Page {number} of {len(pages)}" in page
    text = pdf_text(pdf)
    [signature] = signatures_of(disposition)
    for expected in ("INTERIM CERTIFICATE — results pending: Sterility", "G123426000123L", "S1234",
                     "Dose per kg 1.00 × 10⁶ cells/kg", "Total viable NK cells 6.40 × 10⁷ cells",
                     "Volume 50.0 mL (1.28 × 10⁶ cells/mL)", f"Expiry {clock.format_local(dose.expiry_at)}",
                     "Viability 7-AAD", "96.0 % PASS", "No growth pending PENDING", "0.50 EU/mL",
                     "Released on an interim certificate", manifestation(signature),
                     "Signature intact: the signed record is unchanged.", "certificate revision 1"):
        assert expected in text, expected
    assert "1.00×10⁶cells/kg(6.40×10⁷cells)PASS" in "".join(text.split())  # the dose per kg, as its criterion
    assert "Quinta Qualita (qa.one) · Released ·" in text and "(UTC+0" in manifestation(signature)
    render_png(pdf, "coa-interim", dpi=150)


def test_the_same_certificate_is_served_from_storage(database, bench, dose, qc_time):
    interim(database, bench, dose, qc_time)
    first = certificate(database, bench, dose)
    again = certificate(database, bench, dose)
    assert (again.id, again.revision, again.sha256) == (first.id, 1, first.sha256)
    stored = select(func.count(StoredDocument.id)).where(StoredDocument.kind == DocumentKind.CERTIFICATE)
    assert storage.verify(again) and database.session.scalar(stored) == 1


def test_the_final_release_makes_revision_two(database, bench, dose, qc_time):
    interim(database, bench, dose, qc_time)
    first = certificate(database, bench, dose)
    record(bench, dose.lot, dose, "sterility", "no growth", qc_time + timedelta(days=7))
    decide(database, qc_time + timedelta(days=7, hours=1), release.release_final, dose, bench.qa, PASSWORD,
           bench.qa.username)
    final = certificate(database, bench, dose)
    assert final.revision == 2 and final.sha256 != first.sha256 and final.filename.endswith("-final.pdf")
    text = pdf_text(final.content)
    assert "Certificate of analysis A0 — FINAL" in text and "INTERIM" not in text
    assert "No growth no growth PASS" in text and "Released on a final certificate" in text
    assert sorted(d.revision for d in storage.revisions(dose.lot) if d.kind == DocumentKind.CERTIFICATE) == [1, 2]
    render_png(final.content, "coa-final", dpi=150)


def test_a_changed_disposition_shows_its_signature_broken_in_a_new_revision(database, bench, dose, qc_time):
    disposition = interim(database, bench, dose, qc_time)
    certificate(database, bench, dose)
    set_actor(database.session, bench.qa.id, bench.qa.username)
    set_reason(database.session, "Typing error in the justification")
    disposition.justification = "edited after signing"
    database.session.commit()
    changed = certificate(database, bench, dose)
    text = pdf_text(changed.content)
    assert changed.revision == 2 and "SIGNATURE BROKEN: the record changed after it was signed." in text
    assert "Signature intact" not in text


def test_a_rejected_unit_has_no_certificate_but_keeps_the_issued_ones(database, bench, dose, qc_time):
    interim(database, bench, dose, qc_time)
    issued = certificate(database, bench, dose)
    decide(database, qc_time + timedelta(hours=2), release.reject_dose, dose, bench.qa, PASSWORD,
           bench.qa.username, "Bag leaked during transport")
    with pytest.raises(DomainError, match="no certificate"):
        coa_pdf(dose, bench.qa)
    assert storage.latest(DocumentKind.CERTIFICATE, dose.lot, dose).id == issued.id


def test_an_exceptional_release_shows_the_justification_and_the_physician(database, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time, viability="65 %")
    [oos] = database.session.scalars(select(Deviation).where(Deviation.lot_id == dose.lot_id)).all()
    quality.assess(oos, bench.qa, "Viability 65 %; dose on viable cells", affects_product=True)
    quality.close(oos, bench.qa, PASSWORD, bench.qa.username)
    database.session.commit()
    decide(database, qc_time + timedelta(hours=1), release.release_dose, dose, bench.qa, PASSWORD,
           bench.qa.username, justification="No alternative product", physician_name="Dr. Anna Conti",
           physician_acknowledged_on=date(2026, 1, 5))
    text = pdf_text(certificate(database, bench, dose).content)
    assert "EXCEPTIONAL RELEASE — a result does not meet its specification" in text
    assert "Justification: No alternative product" in text
    assert "Acknowledged by the treating physician Dr. Anna Conti on 2026-01-05." in text
    assert "65.0 % FAIL" in text
