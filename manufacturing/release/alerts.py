"""After release: a failing result (or a correction, or a deviation affecting the product) stops every unit of the
lot not yet given and reaches QA, pharmacy and the physician.

A unit not yet administered goes on hold and its certificate is withdrawn (the certificate served says so);
a unit already given keeps its state and its alert stays open until someone records that the treating
physician was informed.
"""

from sqlalchemy import Select, select

from manufacturing.core import clock
from manufacturing.core.checks import required_text
from manufacturing.core.errors import NotPermitted
from manufacturing.core.permissions import Role
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.processing.states import DOSE, GONE_OUT
from manufacturing.quality.models import QcResult
from manufacturing.release.models import ReleaseAlert
from manufacturing.release.operations import withdraw_release
from manufacturing.release.signals import announce_withdrawal
from manufacturing.release.states import ALERT
from manufacturing.specifications.loader import Evaluation, Outcome


def _gone_out(lot_id: int) -> list[DoseUnit]:
    """Every unit of the lot released at some point and still out: what happened to the lot concerns them all."""
    query = select(DoseUnit).where(DoseUnit.lot_id == lot_id).order_by(DoseUnit.division_code)
    doses = list(db.session.scalars(query))
    for dose in doses:
        lock(dose)
    return [dose for dose in doses if dose.state in GONE_OUT]


def _stop(dose: DoseUnit, reason: str) -> None:
    """Put a unit not yet given on hold and withdraw its certificate."""
    withdraw_release(dose, reason)
    DOSE.move(dose, "put_on_hold", details={"reason": {"new": reason}})
    announce_withdrawal(dose)


def _message(dose: DoseUnit, before: DoseState, reason: str) -> str:
    where = f"lot {dose.lot.lot_number} dose unit {dose.division_code}"
    if before == DoseState.ADMINISTERED:
        return f"{reason} after release of {where}, already administered: inform the treating physician."
    return (f"{reason} after release of {where} ({before.title.lower()}): the unit is on hold and its certificate "
            "withdrawn. Do not give it; QA decides, and the treating physician must be informed.")


def stop_released_units(lot_id: int, reason: str, qc_result_id: int | None = None) -> list[ReleaseAlert]:
    """Stop every released unit of a lot not yet given (hold, certificate withdrawn) and alert on each unit out."""
    alerts = []
    for dose in _gone_out(lot_id):
        before = dose.state
        if before != DoseState.ADMINISTERED:
            _stop(dose, reason)
        alerts.append(_alert(dose, before, _message(dose, before, reason), qc_result_id))
    db.session.flush()
    return alerts


def _alert(dose: DoseUnit, before: DoseState, message: str, qc_result_id: int | None) -> ReleaseAlert:
    alert = ReleaseAlert(dose_unit_id=dose.id, qc_result_id=qc_result_id, raised_at=clock.now(),
                         dose_state_at_alert=before.name, message=message)
    db.session.add(alert)
    return alert


def raise_if_released(result: QcResult, evaluation: Evaluation) -> list[ReleaseAlert]:
    """Stop and alert on every released unit of the lot when a result fails."""
    if evaluation.outcome != Outcome.FAIL:
        return []
    return stop_released_units(result.lot_id, evaluation.reason, result.id)


def given_before_the_hold(dose: DoseUnit, started_at) -> ReleaseAlert:
    """Alert that a held unit had already been given: its infusion started before what stopped it."""
    message = (f"Lot {dose.lot.lot_number} dose unit {dose.division_code} was already being infused (from "
               f"{clock.format_local(started_at)}) when it was put on hold: inform the treating physician.")
    alert = _alert(dose, DoseState.ADMINISTERED, message, None)
    db.session.flush()
    return alert


def close_problem(alert: ReleaseAlert, user) -> str | None:
    if not (user.has_role(Role.QA) or user.has_role(Role.PHARMACY)):
        return "QA or pharmacy record that the physician was informed."
    return ALERT.refusal(alert, "closed")


def record_physician_informed(alert: ReleaseAlert, user, physician_name: str, note: str) -> None:
    """Close an alert by recording who informed which physician, and what was said."""
    lock(alert)
    if (problem := close_problem(alert, user)):
        raise NotPermitted(problem)
    physician = required_text(physician_name, "The physician's name", 120)
    alert.note = required_text(note, "What was communicated")
    ALERT.move(alert, "closed", event_name="release_alert.physician_informed")
    alert.physician_name, alert.informed_at, alert.informed_by_id = physician, clock.now(), user.id


def open_alerts_query() -> Select:
    return (select(ReleaseAlert).where(ALERT.allowing("closed"))
            .order_by(ReleaseAlert.raised_at, ReleaseAlert.id))


def open_alerts() -> list[ReleaseAlert]:
    return list(db.session.scalars(open_alerts_query()))
