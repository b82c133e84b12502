"""Deviations opened against a lot (and a step), closed by QA with a signature."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manufacturing.core.signatures import Signable
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db
from manufacturing.lots.models import Lot


class DeviationClass(enum.Enum):
    MINOR = "Minor"
    MAJOR = "Major"
    CRITICAL = "Critical"

    @property
    def title(self) -> str:
        return self.value


class DeviationStatus(enum.Enum):
    OPEN = "Open"
    CLOSED = "Closed"

    @property
    def title(self) -> str:
        return self.value


class Deviation(Signable, db.Model):
    """A departure from the process or its limits, investigated and closed by QA."""

    __tablename__ = "deviations"
    __audit_entity__ = "deviation"
    __signature_exclude__ = frozenset({"status", "closed_at", "closed_by_id"})

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("process_steps.id"), index=True)
    classification: Mapped[DeviationClass] = mapped_column(Enum(DeviationClass, native_enum=False, length=10))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    immediate_action: Mapped[str] = mapped_column(Text)
    impact_assessment: Mapped[str | None] = mapped_column(Text)
    affects_product: Mapped[bool | None]
    status: Mapped[DeviationStatus] = mapped_column(Enum(DeviationStatus, native_enum=False, length=10), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lot: Mapped[Lot] = relationship()

    def audit_scope(self) -> str | None:
        return f"lot:{self.lot_id}"

    def signable_title(self) -> str:
        return "deviation"
