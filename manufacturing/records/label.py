"""Bag labels: the ISBT 128 quadrant label of a dose unit, its barcodes, and the log of every print.

A label may be printed while the unit is in quarantine (it is then marked "not for infusion"), and
after release or issue. Each print is counted: print 1 is the label, every later print is a reprint
that needs a reason and says so on the label. The printed PDF is kept as a stored revision.
"""

from dataclasses import asdict, dataclass

from flask import current_app
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import record_event, set_reason
from manufacturing.core.checks import require_reason
from manufacturing.core.counters import next_number
from manufacturing.core.errors import NotPermitted, OutOfSequence
from manufacturing.core.permissions import Role, has_role
from manufacturing.core.transitions import lock, states
from manufacturing.extensions import db
from manufacturing.lots.din import ProductCode
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.models import DoseKind, DoseState, DoseUnit
from manufacturing.processing.states import RELEASED
from manufacturing.records import storage
from manufacturing.records.barcodes import code128_svg
from manufacturing.records.models import DocumentKind
from manufacturing.records.render import render_pdf
from manufacturing.release.models import LabelPrint, LabelVoid
from manufacturing.release.operations import standing_disposition
from manufacturing.units import format_quantity

TEMPLATE = "records/label.html"
LABELLED_STATES = states(DoseState.QUARANTINE, DoseState.ISSUED) | RELEASED
PRINTERS = (Role.TECHNICIAN, Role.QA, Role.PHARMACY)
QUARANTINE_MARK = "QUARANTINE — NOT FOR INFUSION"


@dataclass(frozen=True)
class LabelData:
    """Everything a bag label shows, written out; the two barcodes as inline SVG markup."""

    site_name: str
    lot_number: str
    din_keyboard: str
    din_grouped: str
    din_flags: str
    din_check: str
    din_barcode_data: str
    din_barcode: str
    product_code: str
    product_barcode_data: str
    product_barcode: str
    product_name: str
    division: str
    dose_kind: str
    subject_id: str
    infusion: int
    dose_per_kg: str
    viable_nk_cells: str
    volume: str
    concentration: str
    expiry_date: str
    expiry_time: str
    expiry_zone: str
    storage: tuple[str, ...]
    statements: tuple[str, ...]
    quarantine: bool
    print_number: int

    @property
    def reprint(self) -> bool:
        return self.print_number > 1

    @property
    def title(self) -> str:
        return f"Bag label {self.lot_number} {self.division}"


def storage_lines(dose: DoseUnit, spec) -> tuple[str, ...]:
    """How the unit is kept, from the shelf life the specification gives its kind."""
    if dose.kind == DoseKind.CRYOPRESERVED:
        return ("Cryopreserved", f"Shelf life {spec.cryopreserved_shelf_life.text()}",
                f"Once thawed: {spec.thawed_shelf_life.text()}")
    return ("Fresh, not frozen", f"Shelf life {spec.fresh_shelf_life.text()}")


def label_data(dose: DoseUnit, print_number: int, site_name: str) -> LabelData:
    """Write out the label of a dose unit for one print."""
    lot, spec = dose.lot, lot_spec(dose.lot)
    din = lot.din_record.with_check_flags()
    product = ProductCode(description=spec.isbt128_product_code, division=dose.division_code)
    expiry_date, expiry_time, expiry_zone = clock.format_local(dose.expiry_at).split(" ", 2)
    return LabelData(
        site_name=site_name, lot_number=lot.lot_number, din_keyboard=din.keyboard, din_grouped=din.grouped,
        din_flags=din.flags, din_check=din.check, din_barcode_data=din.barcode_data,
        din_barcode=code128_svg(din.barcode_data), product_code=product.code,
        product_barcode_data=product.barcode_data, product_barcode=code128_svg(product.barcode_data),
        product_name=spec.product_name, division=dose.division_code, dose_kind=dose.kind.title,
        subject_id=lot.subject.subject_code, infusion=dose.infusion_number,
        dose_per_kg=format_quantity(dose.target_dose_per_kg), viable_nk_cells=format_quantity(dose.cells),
        volume=format_quantity(dose.final_volume), concentration=format_quantity(dose.concentration),
        expiry_date=expiry_date, expiry_time=expiry_time, expiry_zone=expiry_zone,
        storage=storage_lines(dose, spec), statements=tuple(spec.label_statements),
        quarantine=dose.state == DoseState.QUARANTINE, print_number=print_number,
    )


def can_print(user) -> bool:
    """Technicians, QA and pharmacy print labels; None is the command line, run as its audit actor."""
    return user is None or has_role(user, *PRINTERS)


def state_problem(dose: DoseUnit) -> str | None:
    """Name why a unit in this state gets no label, or None."""
    if dose.state in LABELLED_STATES:
        return None
    return f"Dose unit {dose.division_code} is {dose.state.title.lower()}: no label is printed for it."


def may_print(dose: DoseUnit, user) -> bool:
    """The user prints labels and the unit's state gets one (the page shows the button only then)."""
    return can_print(user) and state_problem(dose) is None


def _check_print(dose: DoseUnit, user) -> None:
    if not can_print(user):
        raise NotPermitted("Only cell-processing technicians, QA and pharmacy print bag labels.")
    problem = state_problem(dose)
    if problem:
        raise OutOfSequence(problem)


def _log_print(dose: DoseUnit, user, number: int, reason: str | None) -> LabelPrint:
    """Add the print to the log and to the audit trail."""
    standing = standing_disposition(dose)
    label_print = LabelPrint(dose_unit_id=dose.id, number=number, reason=reason, printed_at=clock.now(),
                             printed_by_id=user.id if user is not None else None,
                             disposition_id=standing.id if standing is not None and standing.is_release else None)
    db.session.add(label_print)
    db.session.flush()
    action = "dose.label_reprinted" if number > 1 else "dose.label_printed"
    record_event(db.session, action, "dose_unit", dose.id, changes={"label_print": {"new": number}},
                 scope=f"lot:{dose.lot_id}", reason=reason)
    return label_print


def print_label(dose: DoseUnit, user, reason: str | None = None) -> tuple[bytes, LabelPrint]:
    """Print the bag label of a dose unit: log the print, keep the PDF, return its bytes and the log row."""
    lock(dose)
    _check_print(dose, user)
    number = next_number(db.session, f"label-print-{dose.id}")
    if number > 1:
        reason = require_reason(db.session, reason, "the reprint", refusal=(
            f"The label of dose unit {dose.division_code} was printed before (print {number - 1}): "
            "give the reason for the reprint."))
    elif reason := (reason or "").strip() or None:
        set_reason(db.session, reason)
    data = label_data(dose, number, current_app.config["SITE_NAME"])
    label_print = _log_print(dose, user, number, reason)
    document = storage.issue(DocumentKind.LABEL, dose.lot, dose, storage.source_hash(asdict(data)),
                             lambda revision: render_pdf(TEMPLATE, label=data), user=user,
                             filename=f"{data.lot_number}-{data.division}-label-{number}.pdf",
                             reason="first print" if number == 1 else f"reprint {number}: {reason}")
    return document.content, label_print


def void_label(label_print: LabelPrint, user, reason: str) -> LabelVoid:
    """Take a printed label out of use (damaged, wrong, not applied); the print stays counted in the log."""
    dose = db.session.get(DoseUnit, label_print.dose_unit_id)
    lock(dose)
    if not can_print(user) or user is None:
        raise NotPermitted("Only cell-processing technicians, QA and pharmacy void bag labels.")
    if db.session.scalar(select(LabelVoid.id).where(LabelVoid.label_print_id == label_print.id)) is not None:
        raise OutOfSequence(f"Label print {label_print.number} of dose unit {dose.division_code} is already void.")
    reason = require_reason(db.session, reason, "voiding the label")
    void = LabelVoid(label_print_id=label_print.id, reason=reason[:200], voided_at=clock.now(), voided_by_id=user.id)
    db.session.add(void)
    db.session.flush()
    record_event(db.session, "dose.label_voided", "dose_unit", dose.id,
                 changes={"label_print": {"old": label_print.number}}, scope=f"lot:{dose.lot_id}")
    return void
