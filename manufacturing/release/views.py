"""QA release pages: the queue, review by exception, disposition, certificate, post-release alerts."""

import json

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from manufacturing.core.page_cache import cached_part, viewer
from manufacturing.core.paging import keyset_page
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.signatures import signature_lines
from manufacturing.core.web import acting_user, attempt, form_errors
from manufacturing.extensions import db
from manufacturing.lots import versions
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseUnit
from manufacturing.release import alerts, guards, operations, queries
from manufacturing.release.certificate import Certificate
from manufacturing.release.forms import FinalReleaseForm, InformedForm, RejectForm, ReleaseForm
from manufacturing.release.models import ReleaseAlert
from manufacturing.release.review import review

bp = Blueprint("release", __name__, url_prefix="/release")


def _dose_or_404(dose_id: int, *options) -> DoseUnit:
    return db.session.get(DoseUnit, dose_id, options=options) or abort(404)



@bp.get("/")
@role_required(Role.QA)
def index():
    awaiting = keyset_page(queries.awaiting_release_query(), (DoseUnit.expiry_at, DoseUnit.id))
    return render_template("release/index.html", awaiting=awaiting,
                           interim=queries.awaiting_final(), alerts=alerts.open_alerts())


@bp.get("/doses/<id:dose_id>")
@role_required(Role.QA)
def dose(dose_id: int):
    unit = _dose_or_404(dose_id, joinedload(DoseUnit.lot))
    key = ("QA review", unit.id, versions.page_version(unit.lot), viewer(current_user))
    return render_template("release/review.html", dose=unit, lot=unit.lot,
                           content=cached_part(key, lambda: _review_page(unit)))


def _review_page(unit: DoseUnit) -> str:
    found = review(unit)
    decides = guards.can_decide(found, current_user)  # the segregation message says why the forms are not shown
    return render_template(
        "release/_review.html", review=found, dose=unit, lot=found.lot,
        record_problems=guards.record_problems(found), failing=guards.failing_problems(found),
        segregation=guards.segregation_problem(found.involved_user_ids, current_user),
        dispositions=queries.dispositions(unit),
        may_release=decides and guards.can_release(unit, current_user),
        may_reject=decides and guards.can_reject(unit, current_user),
        may_release_final=decides and guards.can_release_final(unit, current_user),
        release_form=ReleaseForm(), final_form=FinalReleaseForm(), reject_form=RejectForm(),
    )


@bp.post("/doses/<id:dose_id>/release")
@role_required(Role.QA)
def release(dose_id: int):
    unit = _dose_or_404(dose_id)
    form = ReleaseForm()
    if form.validate_on_submit():
        attempt(operations.release_dose, unit, acting_user(), form.sign_password.data, form.sign_username.data,
                justification=form.justification.data, physician_name=form.physician_name.data,
                physician_acknowledged_on=form.physician_acknowledged_on.data, success="Dose unit released.")
    else:
        form_errors(form)
    return redirect(url_for("release.dose", dose_id=unit.id))


@bp.post("/doses/<id:dose_id>/final")
@role_required(Role.QA)
def final(dose_id: int):
    unit = _dose_or_404(dose_id)
    form = FinalReleaseForm()
    if form.validate_on_submit():
        attempt(operations.release_final, unit, acting_user(), form.sign_password.data, form.sign_username.data,
                success="Final certificate issued.")
    else:
        form_errors(form)
    return redirect(url_for("release.dose", dose_id=unit.id))


@bp.post("/doses/<id:dose_id>/reject")
@role_required(Role.QA)
def reject(dose_id: int):
    unit = _dose_or_404(dose_id)
    form = RejectForm()
    if form.validate_on_submit():
        attempt(operations.reject_dose, unit, acting_user(), form.sign_password.data, form.sign_username.data,
                form.reason.data, success="Dose unit rejected.")
    else:
        form_errors(form)
    return redirect(url_for("release.dose", dose_id=unit.id))


@bp.get("/doses/<id:dose_id>/certificate")
def certificate(dose_id: int):
    unit = _dose_or_404(dose_id)
    if not operations.has_certificate(unit):
        abort(404)
    disposition = operations.latest_disposition(unit)
    signatures = signature_lines(disposition)
    data = Certificate.from_dict(json.loads(disposition.certificate))
    return render_template("release/certificate.html", certificate=data, disposition=disposition,
                           signatures=signatures, dose=unit, lot=unit.lot)


@bp.get("/alerts/")
@role_required(Role.QA, Role.PHARMACY)
def alert_list():
    query = select(ReleaseAlert).options(joinedload(ReleaseAlert.dose).joinedload(DoseUnit.lot).joinedload(Lot.subject))
    page = keyset_page(query, (ReleaseAlert.raised_at.desc(), ReleaseAlert.id.desc()))
    return render_template("release/alerts.html", page=page, form=InformedForm())


@bp.post("/alerts/<id:alert_id>/informed")
@role_required(Role.QA, Role.PHARMACY)
def informed(alert_id: int):
    alert = db.session.get(ReleaseAlert, alert_id) or abort(404)
    form = InformedForm()
    if form.validate_on_submit():
        attempt(alerts.record_physician_informed, alert, acting_user(), form.physician_name.data, form.note.data,
                success="Recorded: the physician was informed.")
    else:
        form_errors(form)
    return redirect(url_for("release.alert_list"))
