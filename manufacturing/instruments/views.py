"""Import pages: upload an export, see what it gives beside each field with its limits, then sign; files served."""

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for

from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.web import acting_user, attempt, form_errors
from manufacturing.extensions import db
from manufacturing.instruments import files, forms, operations, previews, raw_flow
from manufacturing.instruments.models import InstrumentFile
from manufacturing.instruments.rules import import_rules
from manufacturing.lots.lookup import lot_or_404
from manufacturing.materials.models import Equipment
from manufacturing.processing import forms as step_forms
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import DoseUnit, StepKind

bp = Blueprint("instruments", __name__, url_prefix="/lots")


def _importable_or_404(slug: str) -> StepKind:
    kind = next((kind for kind in StepKind if kind.slug == slug), None)
    if kind is None or slug not in import_rules().step_fields:
        abort(404)
    return kind


def _upload_page(lot, form, title: str, status: int = 200, back: str = ""):
    return render_template("instruments/upload.html", lot=lot, form=form, title=title, back=back), status


def _step_form(kind: StepKind, formdata=None, **prefill):
    return step_forms.step_form(definition(kind), base=forms.StepImportForm, formdata=formdata, **prefill)


@bp.route("/<id:lot_id>/steps/<kind_slug>/import", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN)
def import_step(lot_id: int, kind_slug: str):
    lot, kind = lot_or_404(lot_id), _importable_or_404(kind_slug)
    title, back = f"{kind.title}: import an instrument export", url_for("lots.detail", lot_id=lot.id)
    if request.method == "POST" and "sign_password" in request.form:
        return _sign_step(lot, kind)
    return _read_upload(lot, title, back, lambda upload, row: operations.prepare_step(lot, kind, upload, row, None),
                        lambda upload, prepared: _preview_page(lot, kind, _carried_step_form(kind, upload, prepared),
                                                               prepared, upload))


def _carried_step_form(kind: StepKind, upload, prepared):
    step_form = _step_form(kind, **previews.step_prefill(kind, prepared))
    step_form.carry(upload, prepared.row)
    return step_form


def _read_upload(lot, title: str, back: str, prepare, answer):
    """The upload page, or the file read and checked by `prepare` (nothing written) and shown by `answer`."""
    form = forms.UploadForm(samples=[])
    if request.method == "GET" or not form.validate_on_submit():
        return _upload_page(lot, form, title, 200 if request.method == "GET" else 422, back)
    upload = None
    try:
        upload = form.upload()
        prepared = prepare(upload, form.chosen_row())
    except operations.ChooseSample as choose:
        return _choose_sample(lot, upload, choose, title, back)
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return _upload_page(lot, form, title, 422, back)
    return answer(upload, prepared)


def _choose_sample(lot, upload, choose, title: str, back: str):
    """The file holds several samples: ask which, the file carried so that it need not be given again."""
    form = forms.UploadForm(formdata=None, samples=previews.sample_rows(choose.export))
    form.carry(upload, None)
    flash(choose.message, "info")
    return _upload_page(lot, form, title, 200, back)


def _preview_page(lot, kind: StepKind, step_form, prepared, upload, status: int = 200):
    previews.lock_imported(step_form, kind, prepared)
    return render_template("instruments/step_import.html", lot=lot, form=step_form, definition=definition(kind),
                           title=f"{kind.title}: from {prepared.sample.instrument}", help=None,
                           preview=previews.step_preview(lot, kind, prepared),
                           imported=previews.imported(prepared, upload)), status


def _sign_step(lot, kind: StepKind):
    form = _step_form(kind, formdata=request.form)
    try:
        upload = form.carried()
        started = clock.local_from_naive(form.performed_at.data) if form.performed_at.data else None
        chosen = operations.chosen_instruments(kind, form.to_input()) if started else {}
        prepared = operations.prepare_step(lot, kind, upload, form.row(), started, chosen) if upload else None
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("instruments.import_step", lot_id=lot.id, kind_slug=kind.slug))
    if prepared is None:
        abort(400)
    if not form.validate_on_submit():
        form_errors(form)
        return _preview_page(lot, kind, form, prepared, upload, 422)
    if attempt(operations.import_step, lot, kind, form.to_input(), upload, form.row(), acting_user(),
               form.sign_password.data, form.sign_username.data,
               success=f"{kind.title} recorded from {upload.filename} and signed; a second person verifies it."):
        return redirect(url_for("lots.detail", lot_id=lot.id))
    return _preview_page(lot, kind, form, prepared, upload, 422)


@bp.route("/<id:lot_id>/qc/import", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN, Role.QA)
def import_results(lot_id: int):
    lot = lot_or_404(lot_id)
    title, back = "QC results: import a flow cytometry export", url_for("qc.lot", lot_id=lot.id)
    if request.method == "POST" and "sign_password" in request.form:
        return _sign_results(lot)
    return _read_upload(lot, title, back, lambda upload, row: operations.prepare_results(lot, upload, row),
                        lambda upload, prepared: _results_page(lot, _carried_results_form(lot, upload, prepared),
                                                               prepared, upload))


def _carried_results_form(lot, upload, prepared):
    results_form = previews.results_form(lot)
    results_form.carry(upload, prepared.row)
    return results_form


def _results_page(lot, form, prepared, upload, status: int = 200):
    return render_template("instruments/results_import.html", lot=lot, form=form,
                           imported=previews.imported(prepared, upload),
                           preview=previews.results_preview(lot, prepared)), status


def _sign_results(lot):
    form = previews.results_form(lot, formdata=request.form)
    identifier = operations.row_id(form.instrument.data)
    chosen = db.session.get(Equipment, identifier) if identifier else None
    try:
        upload = form.carried()
        prepared = operations.prepare_results(lot, upload, form.row(), chosen) if upload else None
    except DomainError as refusal:
        db.session.rollback()
        flash(refusal.message, "error")
        return redirect(url_for("instruments.import_results", lot_id=lot.id))
    if prepared is None:
        abort(400)
    if not form.validate_on_submit():
        form_errors(form)
        return _results_page(lot, form, prepared, upload, 422)
    dose_id = operations.row_id(form.dose_unit.data)
    dose = db.session.get(DoseUnit, dose_id) if dose_id else None
    if dose is not None and dose.lot_id != lot.id:
        abort(404)
    if attempt(operations.import_results, lot, dose, upload, form.row(), acting_user(), form.sign_password.data,
               form.sign_username.data, chosen, success=f"QC results recorded from {upload.filename} and signed; "
                                                "a second person verifies each."):
        return redirect(url_for("qc.lot", lot_id=lot.id))
    return _results_page(lot, form, prepared, upload, 422)


@bp.route("/<id:lot_id>/qc/fcs", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN, Role.QA)
def raw_flow_data(lot_id: int):
    """The lot's FCS files with their keywords, and a file attached to a QC sample as its raw record."""
    lot = lot_or_404(lot_id)
    form = previews.fcs_form(lot)
    if request.method == "POST" and form.validate_on_submit():
        identifier, dose = operations.row_id(form.instrument.data), None
        chosen = db.session.get(Equipment, identifier) if identifier else None
        if dose_id := operations.row_id(form.dose_unit.data):
            dose = db.session.get(DoseUnit, dose_id) or abort(404)
        try:
            upload = form.upload()
        except DomainError as refusal:
            flash(refusal.message, "error")
        else:
            if attempt(raw_flow.attach_fcs, lot, dose, upload, acting_user(), chosen,
                       success=f"{upload.filename} kept as the raw flow data of the lot's QC."):
                return redirect(url_for("instruments.raw_flow_data", lot_id=lot.id))
    elif request.method == "POST":
        form_errors(form)
    return render_template("instruments/raw_flow.html", lot=lot, form=form,
                           kept=previews.raw_flow_rows(lot)), 422 if request.method == "POST" else 200


@bp.get("/<id:lot_id>/instrument-files/<id:file_id>")
@role_required(Role.TECHNICIAN, Role.QA)
def download(lot_id: int, file_id: int):
    record = db.session.get(InstrumentFile, file_id)
    if record is None or record.lot_id != lot_id:
        abort(404)
    content = files.intact_content(record)
    if content is None:
        flash(f"The stored file {record.filename} no longer has the SHA-256 recorded at import: it is not served. "
              "Tell QA.", "error")
        return redirect(url_for("lots.detail", lot_id=lot_id))
    return send_file(files.as_stream(content), download_name=record.filename, as_attachment=True,
                     mimetype="application/octet-stream")
