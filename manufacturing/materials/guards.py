"""Rules of materials and equipment: who may act, and whether a lot or an instrument may be used."""

from datetime import datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from manufacturing.core.permissions import Role, has_role
from manufacturing.materials.models import Equipment, MaterialLot, MaterialStatus

RECEIVERS = (Role.TECHNICIAN, Role.QA)
MATERIAL_DECIDERS = (Role.QA,)
EQUIPMENT_MANAGERS = (Role.QA,)
WARNING_DAYS = 30


def describe_lot(material_lot: MaterialLot) -> str:
    return f"{material_lot.kind.title} {material_lot}"


def describe_equipment(equipment: Equipment) -> str:
    return f"{equipment.kind.title} {equipment}"


def can_receive_material(user) -> bool:
    return has_role(user, *RECEIVERS)


def can_decide_material(user) -> bool:
    """QA alone releases, rejects or quarantines a material lot."""
    return has_role(user, *MATERIAL_DECIDERS)


def can_manage_equipment(user) -> bool:
    return has_role(user, *EQUIPMENT_MANAGERS)


def received_by(material_lot: MaterialLot, user) -> bool:
    """Tell whether the user received the lot: the receiver may not also release it."""
    return material_lot.received_by_id == user.id


def is_expired(material_lot: MaterialLot, at: datetime) -> bool:
    """A lot is usable through the end of its expiry date, in the site's local time."""
    return clock.local_date(at) > material_lot.expiry_date


def expires_soon(material_lot: MaterialLot, at: datetime, days: int = WARNING_DAYS) -> bool:
    return not is_expired(material_lot, at) and material_lot.expiry_date <= clock.local_date(at) + timedelta(days=days)


def calibration_overdue(equipment: Equipment, at: datetime) -> bool:
    """Equipment is usable through the end of its calibration due date, in the site's local time."""
    return clock.local_date(at) > equipment.calibration_due


def calibration_due_soon(equipment: Equipment, at: datetime, days: int = WARNING_DAYS) -> bool:
    return (not calibration_overdue(equipment, at)
            and equipment.calibration_due <= clock.local_date(at) + timedelta(days=days))


def release_problem(material_lot: MaterialLot) -> str | None:
    """Say why QA cannot release the lot as it stands, or None (a lot in quarantine)."""
    if material_lot.status is MaterialStatus.REJECTED:
        return f"{describe_lot(material_lot)} was rejected by QA: a rejected lot is never released."
    if material_lot.status is MaterialStatus.RELEASED:
        return f"{describe_lot(material_lot)} is already released."
    return None


def reject_problem(material_lot: MaterialLot) -> str | None:
    """Say why QA cannot reject the lot, or None: a rejection is for good."""
    if material_lot.status is MaterialStatus.REJECTED:
        return f"{describe_lot(material_lot)} is already rejected."
    return None


def quarantine_problem(material_lot: MaterialLot) -> str | None:
    """Say why QA cannot put the lot back in quarantine, or None (a released lot)."""
    if material_lot.status is MaterialStatus.REJECTED:
        return f"{describe_lot(material_lot)} was rejected by QA: it stays rejected."
    if material_lot.status is MaterialStatus.QUARANTINE:
        return f"{describe_lot(material_lot)} is already in quarantine."
    return None


def check_material_usable(material_lot: MaterialLot, at: datetime) -> None:
    """Refuse a lot that QA has not released, has rejected, or that has expired at the given time."""
    item = describe_lot(material_lot)
    if material_lot.status is MaterialStatus.REJECTED:
        raise DomainError(f"{item} was rejected by QA: it cannot be used.")
    if material_lot.status is MaterialStatus.QUARANTINE:
        raise DomainError(f"{item} is in quarantine: QA has not released it.")
    if is_expired(material_lot, at):
        raise DomainError(f"{item} expired on {material_lot.expiry_date.isoformat()}: it cannot be used.")


def check_equipment_usable(equipment: Equipment, at: datetime) -> None:
    """Refuse retired equipment and equipment whose calibration is overdue at the given time."""
    item = describe_equipment(equipment)
    if not equipment.active:
        raise DomainError(f"{item} is retired: it cannot be used.")
    if calibration_overdue(equipment, at):
        raise DomainError(f"{item} was due for calibration on {equipment.calibration_due.isoformat()}: "
                          "it cannot be used.")
