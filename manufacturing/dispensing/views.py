"""Pharmacy pages: the queues, and one dose unit's issue, bedside check, administration and return."""

import re

from flask import Blueprint, abort, redirect, render_template, url_for

from manufacturing.accounts.operations import find_user
from manufacturing.core import clock
from manufacturing.core.forms import ReasonForm
from manufacturing.core.paging import keyset_page
from manufacturing.core.permissions import Role, role_required
from manufacturing.core.signatures import signature_lines
from manufacturing.core.web import acting_user, attempt, form_errors
from manufacturing.dispensing import fitness, guards, operations, queries
from manufacturing.dispensing.forms import AdministrationForm, BedsideForm, IssueForm
from manufacturing.extensions import db
from manufacturing.patients.models import InfusionOrder
from manufacturing.processing.models import DoseUnit
from manufacturing.processing.states import DOSE
from manufacturing.release.guards import held_at

bp = Blueprint("dispensing", __name__, url_prefix="/pharmacy")
ORDER_ID = re.compile(r"[1-9][0-9]{0,8}")  # ASCII digits in the range of an id: anything else is no order


def _dose_or_404(dose_id: int) -> DoseUnit:
    return db.session.get(DoseUnit, dose_id) or abort(404)



@bp.get("/")
@role_required(Role.PHARMACY, Role.QA)
def index():
    now = clock.now()
    issue = keyset_page(queries.awaiting_issue_query(), queries.ISSUE_ORDER, name="issue")
    give = keyset_page(queries.awaiting_administration_query(), queries.ADMINISTRATION_ORDER, name="give")
    orders = keyset_page(queries.orders_without_dose_query(), queries.ORDERS_ORDER, name="orders")
    issue.rows, give.rows = queries.to_issue(issue.rows, now), queries.to_give(give.rows, now)
    return render_template("dispensing/index.html", to_issue=issue, to_give=give, orders=orders)


@bp.get("/history")
@role_required(Role.PHARMACY, Role.QA)
def history():
    page = keyset_page(queries.history_query(), queries.HISTORY_ORDER)
    page.rows = queries.handed(page.rows) if page.rows else []
    return render_template("dispensing/history.html", page=page)


@bp.get("/doses/<id:dose_id>/slip")
@role_required(Role.PHARMACY, Role.QA)
def slip(dose_id: int):
    """The issue slip that goes with the bag to the ward: what was handed over, to whom, until when."""
    dose = _dose_or_404(dose_id)
    issue = queries.issue_of(dose) or abort(404)
    return render_template("dispensing/slip.html", dose=dose, issue=issue, signatures=signature_lines(issue))


def _preview(dose: DoseUnit, order: InfusionOrder | None):
    """The bag's dose per kg at the order's weight and its deviation, while the unit is not yet issued."""
    if order is None or not DOSE.allows(dose, "issued"):
        return None
    return operations.delivered_dose(dose, order)


def _actions(dose: DoseUnit, issue, check, stopped: bool) -> guards.DoseActions:
    held = held_at(dose) if issue is not None else None
    after_check = bool(held and check and check.checked_at < held)
    return guards.actions_for(dose, acting_user(), issued=issue is not None, checked=check is not None and not stopped,
                              fit=fitness.is_fit(dose), held_after_check=after_check)


def _page(dose: DoseUnit, status: int = 200, refused_otherwise: bool = False, **forms):
    """Show a dose unit with its records and the form of the next step (the one refused, if any).

    STOP stands over the bedside form while the last check attempt was a mismatch, unless this answers a later
    attempt refused for another reason: then that refusal is the news, and the mismatch is among the refused checks.
    """
    issue, check = queries.issue_of(dose), queries.latest_check(dose)
    order = issue.order if issue else queries.order_for(dose)
    administration = queries.administration_of(dose)
    mismatches = queries.mismatches(dose)
    unresolved = guards.stopped_problem(queries.check_event(check),
                                        mismatches[-1].event_id if mismatches else None) is not None
    context = {
        "dose": dose, "lot": dose.lot, "order": order, "issue": issue, "checks": queries.checks_of(dose),
        "check": check, "administration": administration, "mismatches": mismatches,
        "stopped": unresolved and not refused_otherwise,
        "preview": _preview(dose, order), "signatures": signature_lines, "now": clock.now(),
        "unfit": fitness.unfit_reasons(dose), "can": _actions(dose, issue, check, unresolved),
        "needs_label": fitness.needs_release_label(dose), "printed_before": fitness.labels_printed(dose),
        "issue_form": forms.get("issue_form") or IssueForm(formdata=None, order_id=order.id if order else ""),
        "bedside_form": forms.get("bedside_form") or BedsideForm(formdata=None),
        "administration_form": forms.get("administration_form") or AdministrationForm(formdata=None),
        "return_form": ReasonForm(formdata=None),
    }
    return render_template("dispensing/dose.html", **context), status


@bp.get("/doses/<id:dose_id>")
@role_required(Role.PHARMACY, Role.QA)
def dose(dose_id: int):
    return _page(_dose_or_404(dose_id))


def _done(dose: DoseUnit):
    return redirect(url_for("dispensing.dose", dose_id=dose.id))


@bp.post("/doses/<id:dose_id>/issue")
@role_required(Role.PHARMACY)
def issue(dose_id: int):
    dose = _dose_or_404(dose_id)
    form = IssueForm()
    if not form.validate_on_submit():
        form_errors(form)
        return _page(dose, 422, issue_form=form)
    order = db.session.get(InfusionOrder, int(form.order_id.data)) if ORDER_ID.fullmatch(form.order_id.data) else None
    if order is None:
        abort(404)
    if attempt(operations.issue_dose, dose, order, acting_user(), form.sign_password.data, form.sign_username.data,
               form.collector_name.data, form.identity_confirmed.data, success="Dose unit issued and signed."):
        return _done(dose)
    return _page(dose, 422, issue_form=form)


def _checkers(form: BedsideForm) -> tuple[operations.Checker, operations.Checker]:
    first, second = acting_user(), find_user(form.second_username.data)
    return (operations.Checker(first, form.first_password.data, first.username, form.first_wristband.data,
                               form.first_din.data, form.first_division.data),
            operations.Checker(second, form.second_password.data, form.second_username.data,
                               form.second_wristband.data, form.second_din.data, form.second_division.data))


@bp.post("/doses/<id:dose_id>/bedside-check")
@role_required(Role.PHARMACY)
def bedside_check(dose_id: int):
    dose = _dose_or_404(dose_id)
    form = BedsideForm()
    if not form.validate_on_submit():
        form_errors(form)
        return _page(dose, 422, refused_otherwise=True, bedside_form=form)
    mismatched_before = queries.last_mismatch_event(dose)
    if attempt(operations.bedside_check, dose, *_checkers(form), form.appearance_ok.data,
               success="Bedside check matched and signed by both: the infusion may start."):
        return _done(dose)
    # what was read is cleared: both read wristband and bag again
    return _page(dose, 422, refused_otherwise=queries.last_mismatch_event(dose) == mismatched_before)


@bp.post("/doses/<id:dose_id>/administration")
@role_required(Role.PHARMACY)
def administration(dose_id: int):
    dose = _dose_or_404(dose_id)
    form = AdministrationForm()
    if not form.validate_on_submit():
        form_errors(form)
        return _page(dose, 422, administration_form=form)
    if attempt(operations.record_administration, dose, acting_user(), form.sign_password.data, form.sign_username.data,
               clock.local_from_naive(form.started_at.data), clock.local_from_naive(form.ended_at.data),
               form.volume_infused.data, form.administered_by.data, form.appearance.data,
               form.adverse_reactions.data, form.deviations.data, success="Administration recorded and signed."):
        return _done(dose)
    return _page(dose, 422, administration_form=form)


@bp.post("/doses/<id:dose_id>/return")
@role_required(Role.PHARMACY)
def return_dose(dose_id: int):
    dose = _dose_or_404(dose_id)
    form = ReasonForm()
    reason = form.reason.data if form.validate_on_submit() else ""
    attempt(operations.return_dose, dose, acting_user(), reason,
            success="Dose unit returned: it will not be issued again.")
    return _done(dose)


@bp.post("/doses/<id:dose_id>/discard")
@role_required(Role.PHARMACY, Role.QA)
def discard_dose(dose_id: int):
    dose = _dose_or_404(dose_id)
    form = ReasonForm()
    reason = form.reason.data if form.validate_on_submit() else ""
    attempt(operations.discard_dose, dose, acting_user(), reason, success="Dose unit discarded.")
    return _done(dose)
