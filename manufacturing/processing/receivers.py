"""What processing answers patients: the dose units made for an infusion order."""

from sqlalchemy import func, select

from manufacturing.extensions import db
from manufacturing.patients.signals import order_cancelling
from manufacturing.processing.models import DoseUnit


def dose_units_of_order(order, **_) -> int:
    """Count the dose units made for an infusion order."""
    return db.session.scalar(select(func.count()).select_from(DoseUnit).where(DoseUnit.infusion_order_id == order.id))


def connect() -> None:
    """Connect processing's receivers; called once by the application factory."""
    order_cancelling.connect(dose_units_of_order)
