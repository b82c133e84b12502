"""Step pages at the bench: receive an apheresis, record, verify and correct steps, prepare doses."""

from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from manufacturing.core.forms import SignForm
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.web import acting_user, attempt, form_errors
from manufacturing.extensions import db
from manufacturing.lots.lookup import lot_or_404
from manufacturing.patients.models import BodyWeight
from manufacturing.processing import doses, forms, operations
from manufacturing.processing import entry_help as guides
from manufacturing.processing.checks import lot_spec, lot_study
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import ProcessStep, StepKind

bp = Blueprint("steps", __name__, url_prefix="/lots")


def _kind_or_404(slug: str) -> StepKind:
    kind = next((kind for kind in StepKind if kind.slug == slug), None)
    if kind is None or kind in (StepKind.APHERESIS_RECEIPT, StepKind.DOSE_PREPARATION):
        abort(404)
    return kind


def _step_or_404(lot_id: int, step_id: int) -> ProcessStep:
    step = db.session.get(ProcessStep, step_id)
    if step is None or step.lot_id != lot_id:
        abort(404)
    return step



def _form_page(template: str, context: dict, refused: bool = False):
    """Show the form: on first view, or again with what was wrong (the entered text is kept)."""
    if request.method == "GET":
        return render_template(template, **context)
    if not refused:
        form_errors(context["form"])
    return render_template(template, **context), 422


@bp.route("/receive", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN)
def receive():
    step_definition = definition(StepKind.APHERESIS_RECEIPT)
    form = forms.step_form(step_definition, base=forms.ReceiptForm, formdata=request.form or None)
    context = {"form": form, "definition": step_definition, "title": "Receive an apheresis product"}
    if not form.validate_on_submit():
        return _form_page("processing/step_form.html", context)
    lot = attempt(operations.receive_apheresis, form.subject_code.data, form.din.data, form.to_input(), acting_user(),
                  form.sign_password.data, form.sign_username.data, success="Apheresis received; lot opened.")
    if lot:
        return redirect(url_for("lots.detail", lot_id=lot.id))
    return _form_page("processing/step_form.html", context, refused=True)


@bp.route("/<id:lot_id>/steps/<kind_slug>/new", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN)
def record_step(lot_id: int, kind_slug: str):
    lot, kind = lot_or_404(lot_id), _kind_or_404(kind_slug)
    step_definition = definition(kind)
    form = forms.step_form(step_definition, formdata=request.form or None)
    guide = guides.entry_help(lot, kind)
    context = {"form": form, "definition": step_definition, "lot": lot, "title": guide.title, "help": guide}
    if not form.validate_on_submit():
        return _form_page("processing/step_form.html", context)
    if attempt(operations.record_step, lot, kind, form.to_input(), acting_user(), form.sign_password.data,
               form.sign_username.data, success=f"{kind.title} recorded and signed."):
        return redirect(url_for("lots.detail", lot_id=lot.id))
    return _form_page("processing/step_form.html", context, refused=True)


@bp.get("/<id:lot_id>/steps/<kind_slug>/judge")
@role_required(Role.TECHNICIAN)
def judge(lot_id: int, kind_slug: str):
    """Judge a value as it is typed, by the rules of saving (JSON for the form's colouring)."""
    lot, kind = lot_or_404(lot_id), _kind_or_404(kind_slug)
    judged = guides.judge(lot, kind, request.args.get("field", "")[:40], request.args.get("value", "")[:80])
    return jsonify(tone=judged.tone, message=judged.message)


@bp.post("/<id:lot_id>/steps/<id:step_id>/verify")
@role_required(Role.TECHNICIAN)
def verify(lot_id: int, step_id: int):
    step = _step_or_404(lot_id, step_id)
    form = SignForm()
    if form.validate_on_submit():
        attempt(operations.verify_step, step, acting_user(), form.sign_password.data, form.sign_username.data,
                success="Step verified and signed.")
    else:
        form_errors(form)
    return redirect(url_for("lots.detail", lot_id=lot_id, _anchor=f"step-{step.id}"))


@bp.route("/<id:lot_id>/steps/<id:step_id>/correct", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN)
def correct(lot_id: int, step_id: int):
    step = _step_or_404(lot_id, step_id)
    step_definition = definition(step.kind)
    form = forms.step_form(step_definition, base=forms.CorrectionForm, step=step, formdata=request.form or None)
    context = {"form": form, "definition": step_definition, "lot": step.lot, "step": step,
               "title": f"Correct the {step.kind.title.lower()}"}
    if not form.validate_on_submit():
        return _form_page("processing/step_form.html", context)
    if attempt(operations.correct_step, step, form.to_input(), form.reason.data, acting_user(), form.sign_password.data,
               form.sign_username.data, success="Correction saved; the step must be verified again."):
        return redirect(url_for("lots.detail", lot_id=lot_id, _anchor=f"step-{step.id}"))
    return _form_page("processing/step_form.html", context, refused=True)


@bp.route("/<id:lot_id>/doses/new", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN)
def prepare_doses(lot_id: int):
    lot = lot_or_404(lot_id)
    study = lot_study(lot)
    weights = db.session.query(BodyWeight).filter_by(subject_id=lot.subject_id).order_by(
        BodyWeight.measured_on.desc()).all()
    extra = forms.dose_fields(weights, [level.dose_per_kg for level in study.dose_schedule], study.max_infusions)
    step_definition = definition(StepKind.DOSE_PREPARATION)
    form = forms.step_form(step_definition, formdata=request.form or None, extra=extra)
    context = {"form": form, "definition": step_definition, "lot": lot, "rows": range(forms.DOSE_ROWS),
               "spec": lot_spec(lot), "study": study, "title": "Dose preparation"}
    if not form.validate_on_submit():
        return _form_page("processing/dose_form.html", context)
    weight = db.session.get(BodyWeight, int(form.weight.data)) if form.weight.data else None
    if attempt(doses.prepare_doses, lot, form.to_input(), forms.dose_requests(form), weight, acting_user(),
               form.sign_password.data, form.sign_username.data, success="Dose units prepared and quarantined."):
        return redirect(url_for("lots.detail", lot_id=lot.id))
    return _form_page("processing/dose_form.html", context, refused=True)
