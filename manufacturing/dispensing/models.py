"""Issue of a dose unit against its order, the bedside check by two people, the administration record."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manufacturing.core.signatures import Signable
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db
from manufacturing.patients.models import InfusionOrder
from manufacturing.processing.models import DoseUnit, OfDoseUnit
from manufacturing.units import Quantity, QuantityType


class Issue(OfDoseUnit, Signable, db.Model):
    """Pharmacy hands a released dose to the person who takes it to the bedside, against an order."""

    __tablename__ = "dose_issues"
    __audit_entity__ = "dose_issue"

    id: Mapped[int] = mapped_column(primary_key=True)
    dose_unit_id: Mapped[int] = mapped_column(ForeignKey("dose_units.id"), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("infusion_orders.id"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    collector_name: Mapped[str] = mapped_column(String(120))
    dose_per_kg: Mapped[Quantity] = mapped_column(QuantityType)
    dose_deviation: Mapped[Quantity] = mapped_column(QuantityType)
    thawed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    use_by: Mapped[datetime] = mapped_column(UTCDateTime)

    dose: Mapped[DoseUnit] = relationship()
    order: Mapped[InfusionOrder] = relationship()


class BedsideCheck(OfDoseUnit, Signable, db.Model):
    """Two people matched wristband, bag and order immediately before infusion; both signed."""

    __tablename__ = "bedside_checks"
    __audit_entity__ = "bedside_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    dose_unit_id: Mapped[int] = mapped_column(ForeignKey("dose_units.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("infusion_orders.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_checker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    second_checker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    wristband_first: Mapped[str] = mapped_column(String(60))
    bag_din_first: Mapped[str] = mapped_column(String(60))
    bag_division_first: Mapped[str] = mapped_column(String(20))
    wristband_second: Mapped[str] = mapped_column(String(60))
    bag_din_second: Mapped[str] = mapped_column(String(60))
    bag_division_second: Mapped[str] = mapped_column(String(20))
    appearance_ok: Mapped[bool]

    dose: Mapped[DoseUnit] = relationship()


class Administration(OfDoseUnit, Signable, db.Model):
    """What was given, when, by whom, and how the patient was."""

    __tablename__ = "administrations"
    __audit_entity__ = "administration"

    id: Mapped[int] = mapped_column(primary_key=True)
    dose_unit_id: Mapped[int] = mapped_column(ForeignKey("dose_units.id"), unique=True)
    bedside_check_id: Mapped[int] = mapped_column(ForeignKey("bedside_checks.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime)
    volume_infused: Mapped[Quantity] = mapped_column(QuantityType)
    administered_by: Mapped[str] = mapped_column(String(120))
    appearance: Mapped[str] = mapped_column(String(200))
    adverse_reactions: Mapped[str] = mapped_column(Text)
    deviations: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    dose: Mapped[DoseUnit] = relationship()
