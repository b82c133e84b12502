"""Deviation pages: the list, opening one from a lot or step, QA's assessment and closure."""

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from manufacturing.core.paging import keyset_page
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.signatures import signature_lines
from manufacturing.core.web import acting_user, attempt, form_errors, query_number
from manufacturing.extensions import db
from manufacturing.lots.lookup import lot_or_404
from manufacturing.processing.models import ProcessStep
from manufacturing.quality import operations, states
from manufacturing.quality.forms import AssessmentForm, CloseForm, DeviationForm
from manufacturing.quality.models import Deviation

bp = Blueprint("quality", __name__, url_prefix="/deviations")


def _deviation_or_404(deviation_id: int) -> Deviation:
    return db.session.get(Deviation, deviation_id) or abort(404)


@bp.get("/")
def index():
    show_all = request.args.get("show") == "all"
    query = select(Deviation).options(joinedload(Deviation.lot))
    if not show_all:
        query = query.where(states.DEVIATION.allowing("closed"))
    page = keyset_page(query, (Deviation.opened_at.desc(), Deviation.id.desc()))
    return render_template("quality/index.html", page=page, show_all=show_all)


@bp.route("/new/<id:lot_id>", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN, Role.QA)
def new(lot_id: int):
    lot = lot_or_404(lot_id)
    step_id = query_number("step_id")
    step = db.session.get(ProcessStep, step_id) if step_id else None
    form = DeviationForm()
    if form.validate_on_submit():
        deviation = attempt(operations.open_deviation, lot, acting_user(),
                            form.classification_value(), form.title.data, form.description.data,
                            form.immediate_action.data, step, success="Deviation opened.")
        if deviation:
            return redirect(url_for("quality.detail", deviation_id=deviation.id))
    elif request.method == "POST":
        form_errors(form)
    return render_template("quality/new.html", form=form, lot=lot, step=step)


@bp.get("/<id:deviation_id>")
def detail(deviation_id: int):
    deviation = _deviation_or_404(deviation_id)
    signatures = signature_lines(deviation)
    assessment = AssessmentForm(impact_assessment=deviation.impact_assessment,
                                affects_product={True: "yes", False: "no"}.get(deviation.affects_product))
    return render_template("quality/detail.html", deviation=deviation, lot=deviation.lot, signatures=signatures,
                           step=db.session.get(ProcessStep, deviation.step_id) if deviation.step_id else None,
                           assessment_form=assessment, close_form=CloseForm(),
                           deviation_open=states.is_open(deviation))


@bp.post("/<id:deviation_id>/assess")
@role_required(Role.QA)
def assess(deviation_id: int):
    deviation = _deviation_or_404(deviation_id)
    form = AssessmentForm()
    if form.validate_on_submit():
        attempt(operations.assess, deviation, acting_user(), form.impact_assessment.data,
                form.affects_product.data == "yes", form.reason.data, success="Impact assessment saved.")
    else:
        form_errors(form)
    return redirect(url_for("quality.detail", deviation_id=deviation.id))


@bp.post("/<id:deviation_id>/close")
@role_required(Role.QA)
def close(deviation_id: int):
    deviation = _deviation_or_404(deviation_id)
    form = CloseForm()
    if form.validate_on_submit():
        attempt(operations.close, deviation, acting_user(), form.sign_password.data,
                form.sign_username.data, success=f"{deviation.number} closed.")
    else:
        form_errors(form)
    return redirect(url_for("quality.detail", deviation_id=deviation.id))
