"""Study subjects, their dated body weights and their infusion orders."""

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manufacturing.core.audit import Audited
from manufacturing.core.signatures import Signable
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db
from manufacturing.units import Quantity, QuantityType


class Sex(enum.Enum):
    FEMALE = "Female"
    MALE = "Male"
    UNKNOWN = "Not stated"

    @property
    def title(self) -> str:
        return self.value


class OrderStatus(enum.Enum):
    OPEN = "Open"
    FULFILLED = "Fulfilled"
    CANCELLED = "Cancelled"

    @property
    def title(self) -> str:
        return self.value


class StopReason(enum.Enum):
    """Why a subject stopped before every planned infusion (the trial's reasons for going off study)."""

    TOXICITY = "Toxicity"
    MANUFACTURING_FAILURE = "Manufacturing failure"
    WITHDRAWAL = "Withdrawal of consent"
    OTHER = "Other"

    @property
    def title(self) -> str:
        return self.value


class Subject(Audited, db.Model):
    """A patient enrolled in the study, known by the study subject ID (the donor is the patient)."""

    __tablename__ = "subjects"
    __audit_entity__ = "subject"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_code: Mapped[str] = mapped_column(String(40), unique=True)
    initials: Mapped[str] = mapped_column(String(4))
    date_of_birth: Mapped[date]
    sex: Mapped[Sex] = mapped_column(Enum(Sex, native_enum=False, length=10))
    site: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    weights: Mapped[list["BodyWeight"]] = relationship(
        back_populates="subject", order_by="(BodyWeight.measured_on.desc(), BodyWeight.id.desc())"
    )
    orders: Mapped[list["InfusionOrder"]] = relationship(
        back_populates="subject", order_by="InfusionOrder.infusion_number"
    )

    stop: Mapped["StudyStop | None"] = relationship(back_populates="subject", uselist=False)

    def audit_scope(self) -> str | None:
        return f"subject:{self.id}"

    @property
    def latest_weight(self) -> "BodyWeight | None":
        return self.weights[0] if self.weights else None

    def __str__(self) -> str:
        return f"{self.subject_code} ({self.initials})"


class BodyWeight(Audited, db.Model):
    """A body weight with the date it was measured; doses are computed from a dated weight."""

    __tablename__ = "body_weights"
    __audit_entity__ = "body_weight"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    weight: Mapped[Quantity] = mapped_column(QuantityType)
    entered: Mapped[str] = mapped_column(String(60))
    measured_on: Mapped[date]
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    subject: Mapped[Subject] = relationship(back_populates="weights")

    def audit_scope(self) -> str | None:
        return f"subject:{self.subject_id}"


class InfusionOrder(Audited, db.Model):
    """The physician's order for one infusion, as recorded by pharmacy; pins the study specification."""

    __tablename__ = "infusion_orders"
    __audit_entity__ = "infusion_order"
    # One live order per infusion; a cancelled order leaves its number free to be ordered again.
    __table_args__ = (Index("uq_infusion_orders_live", "subject_id", "infusion_number", unique=True,
                            sqlite_where=text("status != 'CANCELLED'"),
                            postgresql_where=text("status != 'CANCELLED'")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    infusion_number: Mapped[int]
    dose_per_kg: Mapped[Quantity] = mapped_column(QuantityType)
    body_weight_id: Mapped[int] = mapped_column(ForeignKey("body_weights.id"))
    planned_date: Mapped[date]
    prescriber: Mapped[str] = mapped_column(String(120))
    order_reference: Mapped[str] = mapped_column(String(60))
    study_spec_id: Mapped[str] = mapped_column(String(80))
    study_spec_version: Mapped[str] = mapped_column(String(20))
    study_spec_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[OrderStatus] = mapped_column(Enum(OrderStatus, native_enum=False, length=12))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    subject: Mapped[Subject] = relationship(back_populates="orders")
    body_weight: Mapped[BodyWeight] = relationship()

    def audit_scope(self) -> str | None:
        return f"subject:{self.subject_id}"


class StudyStop(Signable, db.Model):
    """The subject is off study: no further infusion is ordered or issued. Signed; never reversed."""

    __tablename__ = "study_stops"
    __audit_entity__ = "study_stop"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), unique=True)
    reason: Mapped[StopReason] = mapped_column(Enum(StopReason, native_enum=False, length=24))
    stopped_on: Mapped[date]
    detail: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    subject: Mapped[Subject] = relationship(back_populates="stop")

    def audit_scope(self) -> str | None:
        return f"subject:{self.subject_id}"
