"""Post-release alerts: a failing result on a dose already released reaches QA and pharmacy."""

from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import record_event
from manufacturing.core.errors import DomainError, NotPermitted
from manufacturing.core.permissions import Role
from manufacturing.extensions import db
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.quality.models import QcResult
from manufacturing.release.models import ReleaseAlert
from manufacturing.specifications.loader import Evaluation, Outcome

RELEASED_STATES = frozenset({DoseState.RELEASED_INTERIM, DoseState.RELEASED, DoseState.ISSUED,
                             DoseState.ADMINISTERED})


def _affected_doses(result: QcResult) -> list[DoseUnit]:
    query = select(DoseUnit).where(DoseUnit.lot_id == result.lot_id)
    if result.dose_unit_id is not None:
        query = query.where(DoseUnit.id == result.dose_unit_id)
    return [dose for dose in db.session.scalars(query) if dose.state in RELEASED_STATES]


def raise_if_released(result: QcResult, evaluation: Evaluation) -> list[ReleaseAlert]:
    """Open an alert for every released dose a failing result concerns."""
    if evaluation.outcome != Outcome.FAIL:
        return []
    alerts = []
    for dose in _affected_doses(result):
        alert = ReleaseAlert(dose_unit_id=dose.id, qc_result_id=result.id, raised_at=clock.now(),
                             message=f"{evaluation.reason} after release of lot {dose.lot.lot_number} dose unit "
                                     f"{dose.division_code} ({dose.state.title.lower()}): inform the treating "
                                     "physician.")
        db.session.add(alert)
        alerts.append(alert)
    db.session.flush()
    return alerts


def record_physician_informed(alert: ReleaseAlert, user, physician_name: str, note: str) -> None:
    """Close an alert by recording who informed which physician, and what was said."""
    if not (user.has_role(Role.QA) or user.has_role(Role.PHARMACY)):
        raise NotPermitted("QA or pharmacy record that the physician was informed.")
    if not alert.is_open:
        raise DomainError("This alert is already closed.")
    if not (physician_name or "").strip() or not (note or "").strip():
        raise DomainError("Give the physician's name and what was communicated.")
    alert.physician_name, alert.note = physician_name.strip(), note.strip()
    alert.informed_at, alert.informed_by_id = clock.now(), user.id
    record_event(db.session, "release_alert.physician_informed", "release_alert", alert.id,
                 scope=f"lot:{alert.dose.lot_id}")


def open_alerts() -> list[ReleaseAlert]:
    return list(db.session.scalars(select(ReleaseAlert).where(ReleaseAlert.informed_at.is_(None))
                                   .order_by(ReleaseAlert.raised_at)))
