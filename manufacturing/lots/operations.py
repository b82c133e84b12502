"""The verbs of a lot's life: open it for one bag of one subject, hold it, lift the hold, cancel it."""

from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.checks import require_reason
from manufacturing.core.counters import next_number
from manufacturing.core.errors import DomainError, NotPermitted
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.lots import guards
from manufacturing.lots.din import Din
from manufacturing.lots.models import Lot, LotState
from manufacturing.lots.states import LOT
from manufacturing.patients.models import Subject
from manufacturing.patients.operations import refuse_off_study
from manufacturing.specifications import registry


def _new_lot_number() -> str:
    year = clock.today().year
    return f"NK-{year}-{next_number(db.session, f'lot-{year}'):04d}"


def open_lot(subject: Subject, din: Din, user) -> Lot:
    """Open a lot for one collection bag, pinning the specifications in force today."""
    refuse_off_study(subject.id, "no lot is opened for them")
    existing = db.session.scalar(select(Lot).where(Lot.din == din.din13))
    if existing is not None:
        raise DomainError(f"DIN {din.keyboard} is already lot {existing.lot_number}: every collection bag "
                          "has its own DIN. Check the bag label.")
    product, study = registry.pin(registry.PRODUCT_SPEC_ID), registry.pin(registry.STUDY_SPEC_ID)
    lot = Lot(lot_number=_new_lot_number(), subject_id=subject.id, din=din.din13, din_flags=din.flags,
              state=LotState.RECEIVED, spec_id=product.id, spec_version=product.version,
              spec_hash=product.content_hash, study_spec_id=study.id, study_spec_version=study.version,
              study_spec_hash=study.content_hash, opened_at=clock.now(), opened_by_id=user.id)
    db.session.add(lot)
    db.session.flush()
    return lot


def hold(lot: Lot, user, reason: str) -> None:
    """Put a lot on hold: it accepts no step, verification or issue until QA lifts the hold."""
    lock(lot)
    if not guards.can_hold(lot, user):
        raise NotPermitted(f"Lot {lot.lot_number} cannot be put on hold: it is {lot.state.title.lower()}, "
                           "or your roles do not allow it.")
    reason = require_reason(db.session, reason, "putting the lot on hold")
    before = lot.state
    LOT.move(lot, "put_on_hold")
    lot.hold_reason, lot.state_before_hold = reason, before


def lift_hold(lot: Lot, user, reason: str) -> None:
    """Return a held lot to where it was (QA only)."""
    lock(lot)
    if not guards.can_lift_hold(lot, user):
        raise NotPermitted("Only QA lifts a hold, and only on a lot that is on hold.")
    require_reason(db.session, reason, "lifting the hold")
    LOT.move(lot, "hold_lifted")
    lot.state_before_hold, lot.hold_reason = None, None


def cancel(lot: Lot, user, reason: str) -> None:
    """Cancel a lot for good (QA only); its records stay."""
    lock(lot)
    if not guards.can_cancel(lot, user):
        raise NotPermitted("Only QA cancels a lot.")
    lot.cancel_reason = require_reason(db.session, reason, "cancelling the lot")
    LOT.move(lot, "cancelled")
