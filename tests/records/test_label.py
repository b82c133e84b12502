"""Bag labels: ISBT 128 quadrants, barcodes that scan back, quarantine and reprint marks, the print log."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent, set_actor
from manufacturing.core.errors import NotPermitted, OutOfSequence, ReasonRequired
from manufacturing.lots import din as isbt
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseKind, StepKind
from manufacturing.records import storage
from manufacturing.records.label import print_label, storage_lines
from manufacturing.records.models import DocumentKind
from manufacturing.release import operations as release
from manufacturing.release.models import LabelPrint
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.records import is_pdfa3b, page_size_mm, pdf_text, reader, render_png
from tests.release.factories import record_results

LABEL_STATEMENTS = ("For autologous use only", "Do not irradiate", "Do not use a leukodepletion")


@pytest.fixture
def dose(prepared):
    return doses_of(prepared.lot)[0]


def printed(database, user, dose, reason=None):
    """Print as `user` and commit, as the page does."""
    set_actor(database.session, user.id if user else None, user.username if user else "cli")
    result = print_label(dose, user, reason)
    database.session.commit()
    return result


def released(database, bench, dose):
    """Record passing results and have QA release the unit (interim: sterility pending)."""
    at = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    record_results(bench, dose.lot, dose, at)
    with clock.frozen(at + timedelta(hours=1)):
        release.release_dose(dose, bench.qa, PASSWORD, bench.qa.username)
        database.session.commit()
    return dose


def test_a_quarantined_unit_gets_a_label_marked_not_for_infusion(database, bench, dose):
    pdf, log = printed(database, bench.technician, dose)
    assert (log.number, log.is_reprint, log.reason, log.printed_by_id) == (1, False, None, bench.technician.id)
    assert page_size_mm(pdf) == (100.0, 100.0) and len(reader(pdf).pages) == 1
    lot_number, (expiry_date, expiry_time, zone) = dose.lot.lot_number, clock.format_local(dose.expiry_at).split(" ", 2)
    assert is_pdfa3b(pdf) and reader(pdf).metadata.title == f"Bag label {lot_number} A0"
    text = pdf_text(pdf)
    din = dose.lot.din_record
    assert "QUARANTINE — NOT FOR INFUSION" in text and "REPRINT" not in text
    assert f"{din.grouped} {din.check}" == "G1234 26 000123 L" and "G1234 26 000123 L" in text
    assert din.with_check_flags().flags == "81" and "\n81\n" in text  # the type 3 flags, printed turned
    for expected in ("Cell Therapy GMP Facility", f"Lot {lot_number}", "S12341A0", "Division A0 · Fresh",
                     "Autologous ex-vivo expanded NK", "LAL2013-RM-001", "Infusion 1 · 1.00 × 10⁶ cells/kg",
                     "Viable NK cells 6.40 × 10⁷ cells", "Volume 50.0 mL", "Concentration 1.28 × 10⁶ cells/mL",
                     f"EXPIRES\n{expiry_date}\n{expiry_time} {zone}",
                     "Shelf life 24 h at 15-25 °C", *LABEL_STATEMENTS):
        assert expected in text, expected
    render_png(pdf, "label-quarantine")


def test_both_barcodes_scan_back_to_the_din_and_the_product_code(database, bench, dose):
    pdf, _ = printed(database, bench.technician, dose)
    image = Image.open(render_png(pdf, "label-barcodes"))
    scanned = {result.text: result for result in zxingcpp.read_barcodes(image)}
    din = dose.lot.din_record.with_check_flags()
    assert set(scanned) == {"=G12342600012381", "=<S12341A0"} == {din.barcode_data, "=<S12341A0"}
    assert all(result.format == zxingcpp.BarcodeFormat.Code128 for result in scanned.values())
    assert isbt.parse("=G12342600012381") == dose.lot.din_record  # the flags carry the check: verified on read
    assert isbt.ProductCode.parse("=<S12341A0").dose_unit == 1
    half = image.width / 2
    din_place, product_place = scanned[din.barcode_data].position, scanned["=<S12341A0"].position
    assert din_place.bottom_right.x < half and din_place.bottom_right.y < half  # upper left quadrant
    assert product_place.top_left.x > half and product_place.bottom_right.y < half  # upper right quadrant


def test_a_reprint_needs_a_reason_is_numbered_and_marked(database, bench, dose):
    printed(database, bench.technician, dose)
    with pytest.raises(ReasonRequired, match="printed before"):
        printed(database, bench.technician, dose, reason="  ")
    database.session.rollback()
    pdf, log = printed(database, bench.qa, dose, reason="Label smudged at filling")
    assert (log.number, log.is_reprint, log.reason) == (2, True, "Label smudged at filling")
    assert "REPRINT 2" in pdf_text(pdf) and "QUARANTINE — NOT FOR INFUSION" in pdf_text(pdf)
    render_png(pdf, "label-reprint")
    in_print_order = select(LabelPrint).where(LabelPrint.dose_unit_id == dose.id).order_by(LabelPrint.number)
    logs = database.session.scalars(in_print_order).all()
    assert [(entry.number, entry.reason) for entry in logs] == [(1, None), (2, "Label smudged at filling")]
    event = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "dose.label_reprinted")).one()
    assert event.reason == "Label smudged at filling" and event.username == bench.qa.username
    stored = storage.latest(DocumentKind.LABEL, dose.lot, dose)
    assert stored.revision == 2 and stored.content == pdf and storage.verify(stored)


def test_a_released_unit_is_labelled_for_infusion_after_its_quarantine_label(database, bench, dose):
    printed(database, bench.technician, dose)
    released(database, bench, dose)
    with pytest.raises(ReasonRequired):
        printed(database, bench.technician, dose)
    database.session.rollback()
    pdf, log = printed(database, bench.technician, dose, reason="Released: replaces the quarantine label")
    text = pdf_text(pdf)
    assert log.number == 2 and "REPRINT 2" in text and "QUARANTINE" not in text
    assert "LAL2013-RM-001" in text and "G1234 26 000123 L" in text


def test_a_released_unit_labelled_first_shows_no_mark(database, bench, dose):
    pdf, log = printed(database, bench.technician, released(database, bench, dose))
    text = pdf_text(pdf)
    assert log.number == 1 and "QUARANTINE" not in text and "REPRINT" not in text
    render_png(pdf, "label-released")


def test_a_rejected_unit_gets_no_label(database, bench, dose):
    with clock.frozen(bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)):
        release.reject_dose(dose, bench.qa, PASSWORD, bench.qa.username, "Bag leaked at formulation")
        database.session.commit()
    with pytest.raises(OutOfSequence, match="rejected: no label"):
        printed(database, bench.technician, dose)
    database.session.rollback()
    assert database.session.scalars(select(LabelPrint)).all() == []


def test_only_technicians_qa_and_pharmacy_print_labels(database, bench, dose, admin):
    with pytest.raises(NotPermitted):
        printed(database, admin, dose)
    database.session.rollback()
    assert printed(database, bench.pharmacist, dose)[1].number == 1
    assert printed(database, None, dose, reason="Printed from the command line")[1].printed_by_id is None


def test_a_cryopreserved_unit_says_how_it_is_kept_frozen_and_thawed(database, bench, dose):
    lines = storage_lines(SimpleNamespace(kind=DoseKind.CRYOPRESERVED), lot_spec(dose.lot))
    assert lines == ("Cryopreserved", "Shelf life 365 d at -196 to -150 °C", "Once thawed: 4 h at 15-25 °C")
