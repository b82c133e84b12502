"""Lot list and lot page (the batch record on screen: steps, documents, label prints); hold, lift hold, cancel."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import false, select

from manufacturing.core.forms import ReasonForm, SignForm
from manufacturing.core.page_cache import cached_part, viewer
from manufacturing.core.web import acting_user, attempt
from manufacturing.dispensing.guards import next_pharmacy_act
from manufacturing.extensions import db
from manufacturing.instruments.files import files_by_step, taken
from manufacturing.lots import guards, operations
from manufacturing.lots.lookup import lot_or_404
from manufacturing.processing.growth import growth_chart
from manufacturing.processing.guards import can_verify
from manufacturing.processing.kinds import next_kinds
from manufacturing.processing.progress import next_action
from manufacturing.quality import lot_record
from manufacturing.quality.forms import LotFilterForm
from manufacturing.quality.lot_list import filtered, lots_page
from manufacturing.records import jobs, storage
from manufacturing.records.label import may_print
from manufacturing.release.guards import may_review_for_release
from manufacturing.release.models import LabelPrint
from manufacturing.release.operations import certified
from manufacturing.release.review import involved_in

bp = Blueprint("lots", __name__, url_prefix="/lots")

ACTIONS = {
    "hold": (operations.hold, "The lot is on hold: no step can be recorded until QA lifts the hold."),
    "lift-hold": (operations.lift_hold, "The hold is lifted."),
    "cancel": (operations.cancel, "The lot is cancelled."),
}


@bp.get("/")
def index():
    form = LotFilterForm(request.args)
    if form.validate():
        page = lots_page(filtered(**{name: field.data for name, field in form._fields.items()}))
    else:  # a filter that cannot be read matches nothing: it never widens to every lot
        page = lots_page(filtered().where(false()))
    return render_template("lots/index.html", page=page, form=form)


@bp.get("/<id:lot_id>")
def detail(lot_id: int):
    lot = lot_or_404(lot_id)
    version, preparing = jobs.page_state(lot)
    key = ("lot page", lot.id, version, viewer(current_user), tuple(sorted(unit or 0 for unit in preparing)))
    return render_template("lots/detail.html", lot=lot,
                           content=cached_part(key, lambda: _page(lot, preparing)))


def _page(lot, preparing) -> str:
    executed = lot_record.build(lot)
    involved = involved_in(executed)
    return render_template(
        "lots/_page.html", record=executed, lot=lot, next_kinds=next_kinds(lot),
        documents=storage.revisions(lot), preparing=preparing, instrument_files=files_by_step(lot.id),
        instrument_values=taken,
        prints=label_prints(executed.doses),
        chart=growth_chart(executed.growth), sign_form=SignForm(), reason_form=ReasonForm(),
        can_hold=guards.can_hold(lot, current_user), can_lift_hold=guards.can_lift_hold(lot, current_user),
        can_cancel=guards.can_cancel(lot, current_user), lot_open=guards.is_open(lot),
        on_hold=guards.is_on_hold(lot), cancelled=guards.is_cancelled(lot),
        certified=certified(executed.doses),
        printable={dose.id for dose in executed.doses if may_print(dose, current_user)},
        may_verify={view.step.id for view in executed.steps
                    if can_verify(view.step, current_user, [line.signature for line in view.signatures])},
        next_action=next_action(lot, [view.step for view in executed.steps]),
        to_release=[dose for dose in executed.doses if may_review_for_release(dose, current_user, involved)],
        to_dispense=[(dose, act) for dose in executed.doses if (act := next_pharmacy_act(dose, current_user))],
    )


def label_prints(doses) -> dict[int, int]:
    """How many labels were printed for each dose unit."""
    ids = [dose.id for dose in doses]
    rows = db.session.scalars(select(LabelPrint).where(LabelPrint.dose_unit_id.in_(ids))).all() if ids else []
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.dose_unit_id] = max(counts.get(row.dose_unit_id, 0), row.number)
    return counts


@bp.post("/<id:lot_id>/<any(hold, 'lift-hold', cancel):action>")
def lot_action(lot_id: int, action: str):
    lot = lot_or_404(lot_id)
    operation, message = ACTIONS[action]
    form = ReasonForm()
    reason = form.reason.data if form.validate_on_submit() else ""
    attempt(operation, lot, acting_user(), reason, success=message)
    return redirect(url_for("lots.detail", lot_id=lot.id))
