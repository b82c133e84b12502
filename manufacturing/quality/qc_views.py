"""QC pages: the sampling plan and results of a lot, entering a result, verifying one."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from manufacturing.core.permissions import Role, role_required
from manufacturing.core.web import acting_user, attempt, form_errors
from manufacturing.extensions import db
from manufacturing.lots.lookup import lot_or_404
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseUnit
from manufacturing.quality import qc, qc_forms
from manufacturing.quality.models import QcResult

bp = Blueprint("qc", __name__, url_prefix="/qc")



def _result_or_404(lot_id: int, result_id: int) -> QcResult:
    result = db.session.get(QcResult, result_id)
    if result is None or result.lot_id != lot_id:
        abort(404)
    return result


def _chosen(model, form_field, lot: Lot):
    """Load the record a select of the form names, if it belongs to the lot (the form offers no other)."""
    record = db.session.get(model, int(form_field.data)) if form_field.data else None
    return record if record is not None and record.lot_id == lot.id else None


def _page(lot: Lot, form=None, status: int = 200):
    """Show the QC page of the lot, with the entry form as given (kept after a refusal)."""
    sheet = qc.qc_sheet(lot)
    form = form or qc_forms.result_form(sheet, prefill=request.args)
    return render_template("quality/qc_lot.html", lot=lot, sheet=sheet, form=form,
                           verify_form=qc_forms.VerifyForm(formdata=None),
                           may_enter=qc.may_enter(current_user), can_verify=qc.can_verify), status


@bp.get("/lots/<id:lot_id>")
def lot(lot_id: int):
    return _page(lot_or_404(lot_id))


@bp.post("/lots/<id:lot_id>/results")
@role_required(Role.TECHNICIAN, Role.QA)
def record(lot_id: int):
    lot = lot_or_404(lot_id)
    form = qc_forms.result_form(qc.qc_sheet(lot), formdata=request.form)
    if not form.validate_on_submit():
        form_errors(form)
        return _page(lot, form, 422)
    result = attempt(qc.record_result, lot, _chosen(DoseUnit, form.dose_unit, lot), form.test_key.data,
                     form.entered(), form.tested_at_utc(), acting_user(), form.sign_password.data,
                     form.sign_username.data, kind=form.kind_value(), retest_of=_chosen(QcResult, form.retest_of, lot),
                     comment=form.comment.data or "",
                     success="Result recorded and signed; a second person must verify it.")
    if not result:
        return _page(lot_or_404(lot_id), form, 422)
    investigation = qc.investigation_of(result)
    if investigation is not None:
        flash(f"Out of specification: OOS investigation {investigation.number} opened.", "error")
    return redirect(url_for("qc.lot", lot_id=lot_id, _anchor=f"result-{result.id}"))


@bp.post("/lots/<id:lot_id>/results/<id:result_id>/verify")
@role_required(Role.TECHNICIAN, Role.QA)
def verify(lot_id: int, result_id: int):
    result = _result_or_404(lot_id, result_id)
    form = qc_forms.VerifyForm()
    if form.validate_on_submit():
        attempt(qc.verify_result, result, acting_user(), form.sign_password.data, form.sign_username.data,
                success="Result verified and signed.")
    else:
        form_errors(form)
    return redirect(url_for("qc.lot", lot_id=lot_id, _anchor=f"result-{result_id}"))
