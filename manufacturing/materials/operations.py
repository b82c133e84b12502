"""The verbs of materials and equipment: receive, release, reject, quarantine; register, calibrate, retire."""

from datetime import date, datetime

from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import record_event, set_reason
from manufacturing.core.checks import require_reason, required_text
from manufacturing.core.errors import DomainError, NotPermitted
from manufacturing.core.signatures import Meaning, Signature, sign
from manufacturing.extensions import db
from manufacturing.materials.guards import (
    can_decide_material,
    can_manage_equipment,
    can_receive_material,
    check_equipment_usable,
    check_material_usable,
    describe_equipment,
    describe_lot,
    is_expired,
    quarantine_problem,
    received_by,
    reject_problem,
    release_problem,
)
from manufacturing.materials.models import Equipment, EquipmentKind, MaterialKind, MaterialLot, MaterialStatus

__all__ = [
    "check_equipment_usable", "check_material_usable", "quarantine_material", "receive_material",
    "record_calibration", "register_equipment", "reject_material", "release_material", "retire_equipment",
    "usable_equipment", "usable_materials",
]


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotPermitted(message)


def _refuse(problem: str | None) -> None:
    if problem:
        raise DomainError(problem)


def _hold(record: MaterialLot | Equipment) -> None:
    """Lock the record's row until commit, so that two people cannot change it at the same moment."""
    db.session.refresh(record, with_for_update=True)


def _record(action: str, record: MaterialLot | Equipment) -> None:
    db.session.flush()
    record_event(db.session, action, record.audit_entity(), record.id, scope=record.audit_scope())


def _find_lot(name: str, supplier_lot: str) -> MaterialLot | None:
    query = select(MaterialLot).where(func.lower(MaterialLot.name) == name.lower(),
                                      func.lower(MaterialLot.supplier_lot) == supplier_lot.lower())
    return db.session.scalars(query).first()


def receive_material(user, kind: MaterialKind | None, name: str, manufacturer: str, supplier_lot: str,
                     expiry_date: date | None) -> MaterialLot:
    """Receive a supplier lot into quarantine, to wait for QA's release."""
    _require(can_receive_material(user), "Only a technician or QA receives material lots.")
    if kind is None:
        raise DomainError("Choose the kind of material.")
    name = required_text(name, "The material name", 120)
    manufacturer = required_text(manufacturer, "The manufacturer", 120)
    supplier_lot = required_text(supplier_lot, "The supplier lot number", 60)
    if expiry_date is None:
        raise DomainError("Give the expiry date printed on the label.")
    if expiry_date < clock.today():
        raise DomainError(f"{kind.title} {name} lot {supplier_lot} expired on {expiry_date.isoformat()}: "
                          "an expired lot is not received.")
    existing = _find_lot(name, supplier_lot)
    if existing is not None:
        raise DomainError(f"{existing} has already been received: a supplier lot is received once.")
    material_lot = MaterialLot(kind=kind, name=name, manufacturer=manufacturer, supplier_lot=supplier_lot,
                               expiry_date=expiry_date, status=MaterialStatus.QUARANTINE,
                               received_at=clock.now(), received_by_id=user.id)
    db.session.add(material_lot)
    db.session.flush()
    return material_lot


def release_material(qa, material_lot: MaterialLot, password: str, *, username: str | None = None,
                     comment: str | None = None) -> Signature:
    """Release a quarantined lot for use, signed by QA with the meaning 'Released'."""
    _require(can_decide_material(qa), "Only QA releases material lots.")
    _hold(material_lot)
    item = describe_lot(material_lot)
    _refuse(release_problem(material_lot))
    if received_by(material_lot, qa):
        raise NotPermitted(f"You received {item}: another QA person must release it.")
    if is_expired(material_lot, clock.now()):
        raise DomainError(f"{item} expired on {material_lot.expiry_date.isoformat()}: an expired lot is not released.")
    comment = (comment or "").strip() or None
    set_reason(db.session, comment)
    material_lot.status = MaterialStatus.RELEASED
    material_lot.status_reason = None
    signature = sign(material_lot, Meaning.RELEASED, qa, password, username=username, comment=comment)
    _record("material_lot.released", material_lot)
    return signature


def reject_material(qa, material_lot: MaterialLot, reason: str, password: str, *,
                    username: str | None = None) -> Signature:
    """Reject a lot for good, signed by QA with the meaning 'Rejected'."""
    _require(can_decide_material(qa), "Only QA rejects material lots.")
    _hold(material_lot)
    _refuse(reject_problem(material_lot))
    reason = require_reason(db.session, reason, "rejecting the lot")
    material_lot.status = MaterialStatus.REJECTED
    material_lot.status_reason = reason
    signature = sign(material_lot, Meaning.REJECTED, qa, password, username=username)
    _record("material_lot.rejected", material_lot)
    return signature


def quarantine_material(qa, material_lot: MaterialLot, reason: str) -> None:
    """Put a released lot back in quarantine (a supplier recall, a suspected defect)."""
    _require(can_decide_material(qa), "Only QA puts a material lot back in quarantine.")
    _hold(material_lot)
    _refuse(quarantine_problem(material_lot))
    material_lot.status_reason = require_reason(db.session, reason, "putting the lot back in quarantine")
    material_lot.status = MaterialStatus.QUARANTINE
    _record("material_lot.quarantined", material_lot)


def find_equipment(code: str) -> Equipment | None:
    return db.session.scalars(select(Equipment).where(func.upper(Equipment.code) == code.strip().upper())).first()


def find_equipment_by_serial(serial_number: str) -> Equipment | None:
    """The equipment with this serial number (as an instrument writes it: case and spaces aside)."""
    wanted = serial_key(serial_number)
    return db.session.scalars(select(Equipment).where(Equipment.serial_number == wanted)).first() if wanted else None


def serial_key(serial_number: str | None) -> str:
    return "".join((serial_number or "").split()).upper()


def register_equipment(user, code: str, name: str, kind: EquipmentKind | None, location: str,
                       calibration_due: date | None, serial_number: str = "") -> Equipment:
    """Register a piece of equipment under a unique code, with its calibration due date and serial number."""
    _require(can_manage_equipment(user), "Only QA registers equipment.")
    code = required_text(code, "The equipment code", 40).upper()
    name = required_text(name, "The equipment name", 120)
    if kind is None:
        raise DomainError("Choose the kind of equipment.")
    location = required_text(location, "The location", 120)
    if calibration_due is None:
        raise DomainError("Give the calibration due date.")
    existing = find_equipment(code)
    if existing is not None:
        raise DomainError(f"The equipment code {code} is already used by {existing.name}: codes are unique.")
    serial = serial_key(serial_number)[:60] or None
    if serial and (same := find_equipment_by_serial(serial)) is not None:
        raise DomainError(f"The serial number {serial} is already registered for {same}: serial numbers are unique.")
    equipment = Equipment(code=code, name=name, kind=kind, location=location, calibration_due=calibration_due,
                          active=True, serial_number=serial)
    db.session.add(equipment)
    db.session.flush()
    return equipment


def record_calibration(user, equipment: Equipment, calibration_due: date | None, reason: str) -> None:
    """Record the next calibration due date after a calibration, with the reason (certificate number)."""
    _require(can_manage_equipment(user), "Only QA records a calibration.")
    _hold(equipment)
    item = describe_equipment(equipment)
    if not equipment.active:
        raise DomainError(f"{item} is retired: its calibration is no longer recorded.")
    if calibration_due is None:
        raise DomainError("Give the next calibration due date from the calibration certificate.")
    if calibration_due < clock.today():
        raise DomainError(f"The new calibration due date {calibration_due.isoformat()} has already passed: "
                          "check the calibration certificate.")
    if calibration_due == equipment.calibration_due:
        raise DomainError(f"{item} is already due for calibration on {calibration_due.isoformat()}.")
    require_reason(db.session, reason, "changing the calibration due date")
    equipment.calibration_due = calibration_due
    _record("equipment.calibrated", equipment)


def retire_equipment(user, equipment: Equipment, reason: str) -> None:
    """Take equipment out of use for good."""
    _require(can_manage_equipment(user), "Only QA retires equipment.")
    _hold(equipment)
    if not equipment.active:
        raise DomainError(f"{describe_equipment(equipment)} is already retired.")
    require_reason(db.session, reason, "retiring the equipment")
    equipment.active = False
    _record("equipment.retired", equipment)


def usable_materials(kind: MaterialKind, at: datetime) -> list[MaterialLot]:
    """Return the released, in-date lots of a kind, the first to expire first."""
    query = (select(MaterialLot)
             .where(MaterialLot.kind == kind, MaterialLot.status == MaterialStatus.RELEASED,
                    MaterialLot.expiry_date >= clock.local_date(at))
             .order_by(MaterialLot.expiry_date, MaterialLot.name, MaterialLot.supplier_lot))
    return list(db.session.scalars(query))


def usable_equipment(kind: EquipmentKind, at: datetime) -> list[Equipment]:
    """Return the active equipment of a kind whose calibration is in date."""
    query = (select(Equipment)
             .where(Equipment.kind == kind, Equipment.active.is_(True),
                    Equipment.calibration_due >= clock.local_date(at))
             .order_by(Equipment.code))
    return list(db.session.scalars(query))
