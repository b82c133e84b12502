"""Deviations opened against a lot (and a step), closed by QA with a signature."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manufacturing.core.signatures import Signable
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.units import Quantity, QuantityType


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
    __table_args__ = (Index("ix_deviations_opened_at_id", "opened_at", "id"),  # the list, all or open only
                      Index("ix_deviations_status_opened_at_id", "status", "opened_at", "id"))
    __audit_entity__ = "deviation"
    __signature_exclude__ = frozenset({"status", "closed_at", "closed_by_id"})

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("process_steps.id"), index=True)
    qc_result_id: Mapped[int | None] = mapped_column(ForeignKey("qc_results.id", use_alter=True), index=True)
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


class QcKind(enum.Enum):
    ORIGINAL = "Original"
    RETEST = "Retest"
    RECALCULATION = "Recalculation"

    @property
    def title(self) -> str:
        return self.value


class QcStatus(enum.Enum):
    RECORDED = "Awaiting verification"
    VERIFIED = "Verified"

    @property
    def title(self) -> str:
        return self.value


class QcResult(Signable, db.Model):
    """One result of one release test on one sample; retests are new rows, never overwrites."""

    __tablename__ = "qc_results"
    __table_args__ = (Index("ix_qc_results_status_recorded_at", "status", "recorded_at"),)  # awaiting verification
    __audit_entity__ = "qc_result"
    __signature_exclude__ = frozenset({"status", "verified_by_id", "verified_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    dose_unit_id: Mapped[int | None] = mapped_column(ForeignKey("dose_units.id"), index=True)
    test_key: Mapped[str] = mapped_column(String(40))
    sample: Mapped[str] = mapped_column(String(80))
    quantity: Mapped[Quantity | None] = mapped_column(QuantityType)
    text: Mapped[str | None] = mapped_column(String(200))
    entered: Mapped[str] = mapped_column(String(200))
    tested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[QcKind] = mapped_column(Enum(QcKind, native_enum=False, length=14))
    retest_of_id: Mapped[int | None] = mapped_column(ForeignKey("qc_results.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[QcStatus] = mapped_column(Enum(QcStatus, native_enum=False, length=12))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lot: Mapped[Lot] = relationship()

    def audit_scope(self) -> str | None:
        return f"lot:{self.lot_id}"

    def signable_title(self) -> str:
        return "QC result"
