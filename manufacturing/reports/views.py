"""Trial reports and the sponsor's data export, for QA and the investigators (read only)."""

import io

from flask import Blueprint, abort, render_template, send_file

from manufacturing.core import clock
from manufacturing.core.forms import LabForm
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.web import attempt
from manufacturing.extensions import db
from manufacturing.reports import figures, operations
from manufacturing.reports.export import TABLES

bp = Blueprint("reports", __name__, url_prefix="/reports")
READERS = (Role.QA, Role.INVESTIGATOR)


@bp.get("/")
@role_required(*READERS)
def index():
    session = db.session
    tests, deviations = figures.quality(session)
    lots, reference = figures.manufacturing(session), figures.reference()
    return render_template("reports/index.html", tables=TABLES, form=LabForm(),
                           enrolment=figures.enrolment(session), lots=lots, reference=reference,
                           charts=figures.charts(lots, reference), doses=figures.doses(session), tests=tests,
                           deviations=sorted(deviations.items()))


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

