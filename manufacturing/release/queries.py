"""What waits for QA: dose units to review, interim releases to complete."""

from sqlalchemy import Select, select
from sqlalchemy.orm import contains_eager, joinedload

from manufacturing.extensions import db
from manufacturing.lots.models import Lot, LotState
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.release.models import Decision, Disposition


def awaiting_release_query() -> Select:
    """Quarantined units of lots whose doses are prepared, soonest expiry first, with their lot."""
    return (select(DoseUnit).join(Lot, Lot.id == DoseUnit.lot_id)
            .options(contains_eager(DoseUnit.lot).joinedload(Lot.subject))
            .where(DoseUnit.state == DoseState.QUARANTINE, Lot.state == LotState.DOSES_PREPARED)
            .order_by(DoseUnit.expiry_at, DoseUnit.id))


def awaiting_release() -> list[DoseUnit]:
    return list(db.session.scalars(awaiting_release_query()))


def dispositions(dose: DoseUnit) -> list[Disposition]:
    return list(db.session.scalars(select(Disposition).where(Disposition.dose_unit_id == dose.id)
                                   .order_by(Disposition.id)))


def awaiting_final_query() -> Select:
    """Units released on an interim certificate whose final certificate is still to come, with their lot."""
    finals = select(Disposition.dose_unit_id).where(Disposition.decision == Decision.RELEASED_FINAL)
    interims = select(Disposition.dose_unit_id).where(Disposition.decision == Decision.RELEASED_INTERIM)
    query = select(DoseUnit).where(DoseUnit.id.in_(interims), DoseUnit.id.not_in(finals),
                                   DoseUnit.state != DoseState.REJECTED)
    return query.options(joinedload(DoseUnit.lot)).order_by(DoseUnit.id)


def awaiting_final() -> list[DoseUnit]:
    return list(db.session.scalars(awaiting_final_query()))
