"""What waits for QA: dose units to review, interim releases to complete."""

from sqlalchemy import select

from manufacturing.extensions import db
from manufacturing.lots.models import Lot, LotState
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.release.models import Decision, Disposition


def awaiting_release() -> list[DoseUnit]:
    """Quarantined units of lots whose doses are prepared."""
    query = (select(DoseUnit).join(Lot, Lot.id == DoseUnit.lot_id)
             .where(DoseUnit.state == DoseState.QUARANTINE, Lot.state == LotState.DOSES_PREPARED)
             .order_by(DoseUnit.expiry_at))
    return list(db.session.scalars(query))


def dispositions(dose: DoseUnit) -> list[Disposition]:
    return list(db.session.scalars(select(Disposition).where(Disposition.dose_unit_id == dose.id)
                                   .order_by(Disposition.id)))


def awaiting_final() -> list[DoseUnit]:
    """Units released on an interim certificate whose final certificate is still to come."""
    finals = select(Disposition.dose_unit_id).where(Disposition.decision == Decision.RELEASED_FINAL)
    interims = select(Disposition.dose_unit_id).where(Disposition.decision == Decision.RELEASED_INTERIM)
    query = select(DoseUnit).where(DoseUnit.id.in_(interims), DoseUnit.id.not_in(finals),
                                   DoseUnit.state != DoseState.REJECTED)
    return list(db.session.scalars(query.order_by(DoseUnit.id)))
