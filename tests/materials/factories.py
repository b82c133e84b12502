"""Factories of materials and equipment: made through the operations, as real work makes them."""

from datetime import date, timedelta

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.materials import operations
from manufacturing.materials.models import Equipment, EquipmentKind, MaterialKind, MaterialLot
from tests.factories import PASSWORD

CD3 = {"kind": MaterialKind.CD3_REAGENT, "name": "CliniMACS CD3 Reagent", "supplier_lot": "123456"}


def in_days(days: int) -> date:
    """Return the site's local date so many days from today."""
    return clock.today() + timedelta(days=days)


def acting(user) -> None:
    set_actor(db.session, user.id, user.username)


def receive_lot(technician, kind: MaterialKind = CD3["kind"], name: str = CD3["name"],
                supplier_lot: str = CD3["supplier_lot"], expires_in_days: int = 180,
                manufacturer: str = "Miltenyi Biotec") -> MaterialLot:
    """Receive a lot into quarantine and commit."""
    acting(technician)
    material_lot = operations.receive_material(technician, kind, name, manufacturer, supplier_lot,
                                               in_days(expires_in_days))
    db.session.commit()
    return material_lot


def released_lot(technician, qa_user, **details) -> MaterialLot:
    """Receive a lot and have QA release it with a signature."""
    material_lot = receive_lot(technician, **details)
    acting(qa_user)
    operations.release_material(qa_user, material_lot, PASSWORD)
    db.session.commit()
    return material_lot


def register(manager, code: str = "CMP-01", name: str = "CliniMACS Prodigy",
             kind: EquipmentKind = EquipmentKind.CELL_SEPARATOR, due_in_days: int = 180,
             location: str = "Cleanroom B1", serial_number: str = "") -> Equipment:
    """Register a piece of equipment and commit."""
    acting(manager)
    equipment = operations.register_equipment(manager, code, name, kind, location, in_days(due_in_days),
                                              serial_number)
    db.session.commit()
    return equipment
