"""Read materials and equipment for the pages: lists with their warnings."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from manufacturing.core.errors import DomainError
from manufacturing.core.paging import Page, keyset_page
from manufacturing.extensions import db
from manufacturing.materials import guards
from manufacturing.materials.models import Equipment, MaterialKind, MaterialLot, MaterialStatus


@dataclass(frozen=True)
class Badge:
    text: str
    colour: str


def lot_badges(material_lot: MaterialLot, at: datetime) -> list[Badge]:
    """Return the status badge of a lot, with its expiry warning."""
    colour = {MaterialStatus.RELEASED: "green", MaterialStatus.QUARANTINE: "amber",
              MaterialStatus.REJECTED: "red"}[material_lot.status]
    badges = [Badge(material_lot.status.title, colour)]
    if guards.is_expired(material_lot, at):
        badges.append(Badge("Expired", "red"))
    elif guards.expires_soon(material_lot, at):
        badges.append(Badge(f"Expires within {guards.WARNING_DAYS} days", "amber"))
    return badges


def equipment_badges(equipment: Equipment, at: datetime) -> list[Badge]:
    """Return the calibration badge of a piece of equipment, or 'Retired'."""
    if not equipment.active:
        return [Badge("Retired", "grey")]
    if guards.calibration_overdue(equipment, at):
        return [Badge("Calibration overdue", "red")]
    if guards.calibration_due_soon(equipment, at):
        return [Badge(f"Calibration due within {guards.WARNING_DAYS} days", "amber")]
    return [Badge("In calibration", "green")]


def material_lots(kind: MaterialKind | None = None, status: MaterialStatus | None = None) -> Page:
    """Return the page of lots the request asks for, optionally of one kind and status, by kind then expiry."""
    query = select(MaterialLot)
    if kind is not None:
        query = query.where(MaterialLot.kind == kind)
    if status is not None:
        query = query.where(MaterialLot.status == status)
    return keyset_page(query, (MaterialLot.kind, MaterialLot.expiry_date, MaterialLot.id))


def all_equipment() -> list[Equipment]:
    """Return the equipment, active first, by code."""
    query = select(Equipment).order_by(Equipment.active.desc(), Equipment.code)
    return list(db.session.scalars(query))




def lot_problem(material_lot: MaterialLot, at: datetime) -> str | None:
    """Return why the lot cannot be used at the given time, or None when it can."""
    return _refusal(guards.check_material_usable, material_lot, at)


def equipment_problem(equipment: Equipment, at: datetime) -> str | None:
    """Return why the equipment cannot be used at the given time, or None when it can."""
    return _refusal(guards.check_equipment_usable, equipment, at)


def _refusal(check, record, at: datetime) -> str | None:
    try:
        check(record, at)
    except DomainError as refusal:
        return refusal.message
    return None
