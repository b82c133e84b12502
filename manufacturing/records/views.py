"""Document downloads: the batch record of a lot, a dose's certificate and bag label, stored revisions.

A download (GET) stores nothing; printing a label and storing a batch record revision are POSTs.
"""

from flask import Blueprint, Response, abort, flash, redirect, request, url_for

from manufacturing.core.errors import DomainError
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.web import acting_user, attempt
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseUnit
from manufacturing.records import coa, documents, label
from manufacturing.records.models import StoredDocument
from manufacturing.records.storage import Download

bp = Blueprint("records", __name__, url_prefix="/records")


def pdf_response(content: bytes, filename: str, sha256: str | None = None) -> Response:
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    if sha256:
        response.headers["X-Content-SHA256"] = sha256
    return response



def _download(read, *args, back: str) -> Response:
    """Serve what a read returns; when it is refused, say why on the page it came from."""
    try:
        copy: Download = read(*args)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(back)
    return pdf_response(copy.content, copy.filename, copy.sha256)


@bp.get("/lots/<id:lot_id>/batch-record.pdf")
def batch_record(lot_id: int):
    lot = db.session.get(Lot, lot_id) or abort(404)
    return _download(documents.batch_record_copy, lot, acting_user(), back=url_for("lots.detail", lot_id=lot.id))


@bp.post("/lots/<id:lot_id>/batch-record")
@role_required(Role.QA)
def store_batch_record(lot_id: int):
    lot = db.session.get(Lot, lot_id) or abort(404)
    document = attempt(documents.batch_record, lot, acting_user())
    if document:
        flash(f"The batch record is stored as revision {document.revision}.", "success")
    return redirect(url_for("lots.detail", lot_id=lot.id, _anchor="documents"))


@bp.get("/doses/<id:dose_id>/certificate.pdf")
def certificate(dose_id: int):
    dose = db.session.get(DoseUnit, dose_id) or abort(404)
    return _download(coa.coa_copy, dose, back=url_for("lots.detail", lot_id=dose.lot_id))


@bp.post("/doses/<id:dose_id>/label")
@role_required(Role.TECHNICIAN, Role.QA, Role.PHARMACY)
def print_label(dose_id: int):
    dose = db.session.get(DoseUnit, dose_id) or abort(404)
    printed = attempt(label.print_label, dose, acting_user(), request.form.get("reason") or None)
    if not printed:
        return redirect(url_for("lots.detail", lot_id=dose.lot_id, _anchor="doses"))
    content, log = printed
    return pdf_response(content, f"label-{dose.lot.lot_number}-{dose.division_code}-{log.number}.pdf")


@bp.get("/documents/<id:document_id>")
def stored(document_id: int):
    document = db.session.get(StoredDocument, document_id) or abort(404)
    return pdf_response(document.content, f"r{document.revision}-{document.filename}", document.sha256)
