"""Who may hold, lift a hold on, or cancel a lot."""

from manufacturing.core.permissions import Role
from manufacturing.lots.models import Lot, LotState


def can_hold(lot: Lot, user) -> bool:
    return lot.state not in (LotState.ON_HOLD, LotState.CANCELLED) and (
        user.has_role(Role.TECHNICIAN) or user.has_role(Role.QA))


def can_lift_hold(lot: Lot, user) -> bool:
    return lot.state == LotState.ON_HOLD and user.has_role(Role.QA)


def can_cancel(lot: Lot, user) -> bool:
    return lot.state != LotState.CANCELLED and user.has_role(Role.QA)
