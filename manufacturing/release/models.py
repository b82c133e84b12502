"""QA's dispositions of dose units, and post-release alerts."""

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manufacturing.core.audit import Audited
from manufacturing.core.signatures import Signable
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db
from manufacturing.processing.models import DoseUnit, OfDoseUnit


class Decision(enum.Enum):
    RELEASED_INTERIM = "Released on an interim certificate"
    RELEASED_FINAL = "Released on a final certificate"
    REJECTED = "Rejected"

    @property
    def title(self) -> str:
        return self.value


class DispositionState(enum.Enum):
    """Whether a decision is in force: a final certificate supersedes an interim one; a failing result withdraws."""

    STANDING = "Standing"
    SUPERSEDED = "Superseded"
    WITHDRAWN = "Withdrawn"

    @property
    def title(self) -> str:
        return self.value


class Disposition(OfDoseUnit, Signable, db.Model):
    """QA's signed decision on one dose unit, with the certificate data it was made on."""

    __tablename__ = "dispositions"
    __audit_entity__ = "disposition"
    __signature_exclude__ = frozenset({"state", "ended_at", "ended_reason"})

    id: Mapped[int] = mapped_column(primary_key=True)
    dose_unit_id: Mapped[int] = mapped_column(ForeignKey("dose_units.id"), index=True)
    decision: Mapped[Decision] = mapped_column(Enum(Decision, native_enum=False, length=20))
    exceptional: Mapped[bool] = mapped_column(default=False)
    justification: Mapped[str | None] = mapped_column(Text)
    physician_name: Mapped[str | None] = mapped_column(String(120))
    physician_acknowledged_on: Mapped[date | None]
    certificate: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[DispositionState] = mapped_column(
        Enum(DispositionState, native_enum=False, length=12), default=DispositionState.STANDING,
        server_default="STANDING")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(Text)

    dose: Mapped[DoseUnit] = relationship()

    @property
    def is_release(self) -> bool:
        return self.decision != Decision.REJECTED


class AlertState(enum.Enum):
    OPEN = "Open"
    CLOSED = "Closed"

    @property
    def title(self) -> str:
        return self.value


class ReleaseAlert(OfDoseUnit, Audited, db.Model):
    """What stopped a unit after release (a failing result, a correction, a deviation affecting the product).

    Open until someone records that the treating physician was informed.
    """

    __tablename__ = "release_alerts"
    __table_args__ = (Index("ix_release_alerts_raised_at_id", "raised_at", "id"),)  # the alerts list, newest first
    __audit_entity__ = "release_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    dose_unit_id: Mapped[int] = mapped_column(ForeignKey("dose_units.id"), index=True)
    qc_result_id: Mapped[int | None] = mapped_column(ForeignKey("qc_results.id"))  # none: a correction, a deviation
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    physician_name: Mapped[str | None] = mapped_column(String(120))
    informed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    informed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[AlertState] = mapped_column(Enum(AlertState, native_enum=False, length=8),
                                              default=AlertState.OPEN, server_default="OPEN")
    dose_state_at_alert: Mapped[str | None] = mapped_column(String(20))

    dose: Mapped[DoseUnit] = relationship()

    @property
    def is_open(self) -> bool:
        return self.state == AlertState.OPEN


class LabelPrint(OfDoseUnit, Audited, db.Model):
    """One print of a dose unit's bag label; every print after the first is a counted reprint."""

    __tablename__ = "label_prints"
    __audit_entity__ = "label_print"

    id: Mapped[int] = mapped_column(primary_key=True)
    dose_unit_id: Mapped[int] = mapped_column(ForeignKey("dose_units.id"), index=True)
    number: Mapped[int]
    reason: Mapped[str | None] = mapped_column(String(200))
    printed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    printed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The release the label was printed under; none for a quarantine label, which never goes to the ward.
    disposition_id: Mapped[int | None] = mapped_column(ForeignKey("dispositions.id"))

    @property
    def is_reprint(self) -> bool:
        return self.number > 1


class LabelVoid(Audited, db.Model):
    """A printed label taken out of use (damaged, wrong, superseded), with the reason; the print stays counted."""

    __tablename__ = "label_voids"
    __audit_entity__ = "label_void"

    id: Mapped[int] = mapped_column(primary_key=True)
    label_print_id: Mapped[int] = mapped_column(ForeignKey("label_prints.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(200))
    voided_at: Mapped[datetime] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
