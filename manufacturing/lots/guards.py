"""Rules of a lot as small predicates: whether it is open, who may hold, lift a hold on, or cancel it."""

from manufacturing.core.permissions import Role
from manufacturing.lots.models import Lot, LotState
from manufacturing.lots.states import LOT


def is_open(lot: Lot) -> bool:
    """The lot accepts work: it is neither on hold nor cancelled."""
    return LOT.allows(lot, "put_on_hold")


def is_on_hold(lot: Lot) -> bool:
    """QA put the lot on hold: only lifting the hold (or cancelling) moves it on."""
    return LOT.allows(lot, "hold_lifted")


def is_cancelled(lot: Lot) -> bool:
    """The lot was cancelled: closed for good, with no hold to lift."""
    return not is_open(lot) and not is_on_hold(lot)


def awaits_release(lot: Lot) -> bool:
    """Every step is done: the lot's dose units wait for QA's review and release."""
    return lot.state == LotState.DOSES_PREPARED


def closed_problem(lot: Lot, what: str) -> str | None:
    """Name why a held or cancelled lot refuses this act, or None."""
    if is_open(lot):
        return None
    why = f" ({lot.hold_reason})" if lot.hold_reason else ""
    return f"Lot {lot.lot_number} is {lot.state.title.lower()}{why}: {what}."


def can_hold(lot: Lot, user) -> bool:
    return LOT.allows(lot, "put_on_hold") and (user.has_role(Role.TECHNICIAN) or user.has_role(Role.QA))


def can_lift_hold(lot: Lot, user) -> bool:
    return LOT.allows(lot, "hold_lifted") and user.has_role(Role.QA)


def can_cancel(lot: Lot, user) -> bool:
    return LOT.allows(lot, "cancelled") and user.has_role(Role.QA)
