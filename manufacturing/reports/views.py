"""Trial reports and the sponsor's data export, for QA and the investigators (read only)."""

import io

from flask import Blueprint, abort, flash, redirect, render_template, send_file, url_for
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.forms import LabForm
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.web import acting_user, attempt
from manufacturing.extensions import db
from manufacturing.reports import operations, report, stored
from manufacturing.reports.export import TABLES
from manufacturing.reports.models import StoredTrialReport

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = (Role.QA, Role.INVESTIGATOR)


@bp.get("/")
@role_required(*READERS)
def index():
    return render_template("reports/index.html", tables=TABLES, form=LabForm(), r=report.build(db.session),
                           stored=stored.revisions(db.session))


def _pdf(document: StoredTrialReport):
    return send_file(io.BytesIO(document.content), mimetype="application/pdf", as_attachment=True,
                     download_name=document.filename)


@bp.post("/report.pdf")
@role_required(*READERS)
def store_pdf():
    if not LabForm().validate_on_submit():
        abort(400)
    document = attempt(stored.store, db.session, acting_user())
    if not document:
        return index(), 409
    return _pdf(document)


@bp.get("/report-<id:revision>.pdf")
@role_required(*READERS)
def stored_pdf(revision: int):
    document = db.session.scalar(select(StoredTrialReport).where(StoredTrialReport.revision == revision)) or abort(404)
    if not stored.intact(document):
        flash(f"Revision {revision} of the trial report no longer has the SHA-256 it was stored with: it is not "
              "served. Tell QA (the audit trail's verification names it).", "error")
        return redirect(url_for("reports.index"))
    return _pdf(document)


def _stamp() -> str:
    return clock.to_local(clock.now()).strftime("%Y%m%d-%H%M")


@bp.post("/export/<name>.csv")
@role_required(*READERS)
def export_table(name: str):
    if not LabForm().validate_on_submit():
        abort(400)
    written = attempt(operations.export_table, db.session, name)
    if not written:
        return index(), 404
    return send_file(io.BytesIO(written.content), mimetype="text/csv; charset=utf-8", as_attachment=True,
                     download_name=f"{name}-{_stamp()}.csv")


@bp.post("/export/trial.zip")
@role_required(*READERS)
def export_trial():
    if not LabForm().validate_on_submit():
        abort(400)
    exported = attempt(operations.export_trial, db.session)
    if not exported:
        return index(), 422
    content, _ = exported
    return send_file(io.BytesIO(content), mimetype="application/zip", as_attachment=True,
                     download_name=f"trial-export-{_stamp()}.zip")

