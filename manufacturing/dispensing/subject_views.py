"""Pages of subjects, body weights and infusion orders, with the lots and dose units made for each subject."""

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from manufacturing.core import clock
from manufacturing.core.forms import ReasonForm
from manufacturing.core.paging import keyset_page
from manufacturing.core.permissions import role_required
from manufacturing.core.web import acting_user, attempt, form_errors
from manufacturing.dispensing.queries import administered_dates
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.patients import guards, operations, plan
from manufacturing.patients.forms import BodyWeightForm, CorrectSubjectForm, OffStudyForm, OrderForm, SubjectForm
from manufacturing.patients.models import InfusionOrder, Subject
from manufacturing.processing.models import DoseUnit
from manufacturing.specifications import registry
from manufacturing.specifications.loader import SpecError

bp = Blueprint("patients", __name__, url_prefix="/subjects")


def _subject_or_404(subject_id: int) -> Subject:
    return db.session.get(Subject, subject_id) or abort(404)



def _form_status() -> int:
    return 200 if request.method == "GET" else 422


@bp.get("/")
def index():
    query = select(Subject).options(selectinload(Subject.weights), selectinload(Subject.orders))
    page = keyset_page(query, (Subject.subject_code, Subject.id))
    ids = [subject.id for subject in page.rows]
    lot_counts = dict(db.session.execute(select(Lot.subject_id, func.count()).where(Lot.subject_id.in_(ids))
                                         .group_by(Lot.subject_id)).all())
    return render_template("patients/index.html", page=page, lot_counts=lot_counts,
                           may_register=guards.may_register_subjects(current_user))


@bp.route("/new", methods=["GET", "POST"])
@role_required(*guards.SUBJECT_ROLES)
def register():
    form = SubjectForm()
    if form.validate_on_submit():
        subject = attempt(operations.register_subject, acting_user(), form.details(), success="Subject registered.")
        if subject:
            return redirect(url_for("patients.detail", subject_id=subject.id))
    return render_template("patients/new.html", form=form), _form_status()


@bp.get("/<id:subject_id>")
def detail(subject_id: int):
    return _subject_page(_subject_or_404(subject_id))


def _study_spec():
    """Return the study specification in force and None, or None and why it cannot be read."""
    try:
        return registry.study_spec(), None
    except SpecError as error:
        return None, error.message


def _order_form(subject: Subject, spec, rows, submitted: OrderForm | None = None) -> OrderForm:
    """Return the order form, filled with the next infusion, its schedule level and the latest weight."""
    levels = plan.next_levels(spec, subject.orders) if spec else []
    if submitted is not None:
        return submitted.offer(levels, subject.weights)
    following = next((row for row in rows if row.order is None), None)
    latest = subject.latest_weight
    form = OrderForm(formdata=None, infusion_number=plan.next_infusion(subject.orders),
                     dose_level=levels[-1].infusion if levels else None, body_weight=latest and latest.id,
                     planned_date=following and following.earliest)
    return form.offer(levels, subject.weights)


def _production(subject: Subject) -> tuple[list[Lot], list[DoseUnit]]:
    """Return the lots of a subject and the dose units made from them."""
    lots = db.session.scalars(select(Lot).where(Lot.subject_id == subject.id).order_by(Lot.id)).all()
    dose_units = db.session.scalars(
        select(DoseUnit).join(DoseUnit.lot).where(Lot.subject_id == subject.id)
        .options(selectinload(DoseUnit.lot), selectinload(DoseUnit.order))
        .order_by(DoseUnit.lot_id, DoseUnit.division_code)
    ).all()
    return lots, dose_units


def _subject_page(subject: Subject, status: int = 200, **forms):
    """Render the subject page; a form just refused is passed in, to show what was typed and its errors."""
    spec, spec_problem = _study_spec()
    latest = subject.latest_weight
    rows = plan.infusion_plan(spec, subject.orders, latest and latest.weight, clock.today(),
                              administered_dates(subject)) if spec else []
    lots, dose_units = _production(subject)
    context = {
        "correct_form": CorrectSubjectForm.of(subject, formdata=None),
        "weight_form": BodyWeightForm(formdata=None, measured_on=clock.today()),
        "reason_form": ReasonForm(formdata=None),
        "stop_form": OffStudyForm(formdata=None, stopped_on=clock.today()),
        **forms,
        "order_form": _order_form(subject, spec, rows, forms.get("order_form")),
        "may_correct": guards.may_register_subjects(current_user),
        "may_weigh": guards.may_record_weights(current_user),
        "may_order": guards.may_order_infusions(current_user) and subject.stop is None,
        "may_stop": guards.may_take_off_study(current_user, subject),
    }
    return render_template(
        "patients/detail.html", subject=subject, age=guards.age_on(subject.date_of_birth, clock.today()),
        spec=spec, spec_problem=spec_problem, plan=rows, lots=lots, dose_units=dose_units,
        lot_pages="lots.detail" in current_app.view_functions, **context,
    ), status


def _back(subject: Subject):
    return redirect(url_for("patients.detail", subject_id=subject.id))


@bp.post("/<id:subject_id>/correct")
@role_required(*guards.SUBJECT_ROLES)
def correct(subject_id: int):
    subject = _subject_or_404(subject_id)
    form = CorrectSubjectForm()
    if form.validate_on_submit() and attempt(operations.correct_subject, acting_user(), subject, form.details(),
                                             form.reason.data, success="Subject data corrected."):
        return _back(subject)
    return _subject_page(subject, 422, correct_form=form)


@bp.post("/<id:subject_id>/weights")
@role_required(*guards.WEIGHT_ROLES)
def add_weight(subject_id: int):
    subject = _subject_or_404(subject_id)
    form = BodyWeightForm()
    if form.validate_on_submit() and attempt(operations.record_body_weight, acting_user(), subject, form.weight.data,
                                             form.measured_on.data, success="Body weight recorded."):
        return _back(subject)
    return _subject_page(subject, 422, weight_form=form)


@bp.post("/<id:subject_id>/orders")
@role_required(*guards.ORDER_ROLES)
def add_order(subject_id: int):
    subject = _subject_or_404(subject_id)
    form = OrderForm()
    if form.validate_on_submit() and attempt(operations.record_order, acting_user(), subject, form.entry(),
                                             success="Infusion order recorded."):
        return _back(subject)
    return _subject_page(subject, 422, order_form=form)


@bp.post("/<id:subject_id>/off-study")
@role_required(*guards.STOP_ROLES)
def off_study(subject_id: int):
    subject = _subject_or_404(subject_id)
    form = OffStudyForm()
    if form.validate_on_submit() and attempt(
            operations.take_off_study, acting_user(), subject, form.stop_reason(), form.stopped_on.data,
            form.detail.data, form.sign_password.data, form.sign_username.data,
            success="The subject is off study: no further infusion will be ordered or issued."):
        return _back(subject)
    return _subject_page(subject, 422, stop_form=form)


@bp.post("/<id:subject_id>/orders/<id:order_id>/cancel")
@role_required(*guards.ORDER_ROLES)
def cancel_order(subject_id: int, order_id: int):
    order = db.session.get(InfusionOrder, order_id)
    if order is None or order.subject_id != subject_id:
        abort(404)
    form = ReasonForm()
    if form.validate_on_submit():
        attempt(operations.cancel_order, acting_user(), order, form.reason.data, success="Infusion order cancelled.")
    else:
        form_errors(form)
    return redirect(url_for("patients.detail", subject_id=subject_id))
