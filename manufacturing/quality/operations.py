"""Deviations: opened at the bench or by QA, assessed for impact, closed by QA with a signature."""

from manufacturing.core import clock
from manufacturing.core.audit import set_reason
from manufacturing.core.checks import require_reason, required_text
from manufacturing.core.counters import next_number
from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence
from manufacturing.core.permissions import Role
from manufacturing.core.signatures import Meaning, sign
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.models import ProcessStep
from manufacturing.quality.models import Deviation, DeviationClass, DeviationStatus
from manufacturing.quality.signals import announce_product_affected
from manufacturing.quality.states import DEVIATION


def open_deviation(lot: Lot, user, classification: DeviationClass, title: str, description: str,
                   immediate_action: str, step: ProcessStep | None = None,
                   qc_result_id: int | None = None) -> Deviation:
    """Record a deviation against a lot (and one of its steps); it stays open until QA closes it."""
    if not (user.has_role(Role.TECHNICIAN) or user.has_role(Role.QA)):
        raise NotPermitted("Technicians and QA open deviations.")
    if step is not None and step.lot_id != lot.id:
        raise DomainError("That step belongs to another lot.")
    year = clock.today().year
    deviation = Deviation(
        number=f"DEV-{year}-{next_number(db.session, f'deviation-{year}'):04d}", lot_id=lot.id,
        step_id=step.id if step else None, qc_result_id=qc_result_id, classification=classification,
        title=required_text(title, "The title"),
        description=required_text(description, "The description"),
        immediate_action=required_text(immediate_action, "The immediate action"),
        status=DeviationStatus.OPEN, opened_at=clock.now(), opened_by_id=user.id,
    )
    db.session.add(deviation)
    db.session.flush()
    return deviation


def assess(deviation: Deviation, user, impact_assessment: str, affects_product: bool,
           reason: str | None = None) -> None:
    """Record QA's impact assessment: whether the deviation affects the product, and why."""
    lock(deviation)
    if not user.has_role(Role.QA):
        raise NotPermitted("Only QA assesses the impact of a deviation.")
    if (problem := DEVIATION.refusal(deviation, "closed")):
        raise OutOfSequence(problem)
    if deviation.impact_assessment:
        require_reason(db.session, reason, "changing the impact assessment")
    else:
        set_reason(db.session, reason)
    was_affecting = deviation.affects_product
    deviation.impact_assessment = required_text(impact_assessment, "The impact assessment")
    deviation.affects_product = affects_product
    if affects_product and not was_affecting:
        announce_product_affected(deviation)


def close(deviation: Deviation, user, password: str, username: str) -> None:
    """Close a deviation with QA's signature; it needs an impact assessment first."""
    lock(deviation)
    if not user.has_role(Role.QA):
        raise NotPermitted("Only QA closes deviations.")
    if (problem := DEVIATION.refusal(deviation, "closed")):
        raise OutOfSequence(problem)
    if not deviation.impact_assessment or deviation.affects_product is None:
        raise OutOfSequence("Record the impact assessment before closing the deviation.")
    sign(deviation, Meaning.CLOSED, user, password, username=username)
    DEVIATION.move(deviation, "closed")
    deviation.closed_at, deviation.closed_by_id = clock.now(), user.id
