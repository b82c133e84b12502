"""Lots: one apheresis collection of one subject, identified by its ISBT 128 DIN."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manufacturing.core.audit import Audited
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db
from manufacturing.lots.din import Din
from manufacturing.patients.models import Subject


class LotState(enum.Enum):
    """Where a lot stands in the process (21 CFR 11.10(f): the permitted sequence)."""

    RECEIVED = "Received"
    CD3_DEPLETED = "CD3 depleted"
    CD56_SELECTED = "CD56 selected"
    IN_CULTURE = "In culture"
    HARVESTED = "Harvested"
    DOSES_PREPARED = "Doses prepared"
    ON_HOLD = "On hold"
    CANCELLED = "Cancelled"

    @property
    def title(self) -> str:
        return self.value


class Lot(Audited, db.Model):
    """A lot: pins the product and study specification versions in force when it was opened."""

    __tablename__ = "lots"
    __table_args__ = (Index("ix_lots_opened_at_id", "opened_at", "id"),  # the lots list, newest first
                      Index("ix_lots_state_lot_number", "state", "lot_number"),  # lots in culture by number
                      Index("ix_lots_state_id", "state", "id"))  # lots in a state joined to their doses
    __audit_entity__ = "lot"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_number: Mapped[str] = mapped_column(String(20), unique=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("subjects.id"), index=True)
    din: Mapped[str] = mapped_column(String(13), unique=True)
    din_flags: Mapped[str] = mapped_column(String(2))
    state: Mapped[LotState] = mapped_column(Enum(LotState, native_enum=False, length=20), index=True)
    state_before_hold: Mapped[LotState | None] = mapped_column(Enum(LotState, native_enum=False, length=20))
    hold_reason: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    spec_id: Mapped[str] = mapped_column(String(80))
    spec_version: Mapped[str] = mapped_column(String(20))
    spec_hash: Mapped[str] = mapped_column(String(64))
    study_spec_id: Mapped[str] = mapped_column(String(80))
    study_spec_version: Mapped[str] = mapped_column(String(20))
    study_spec_hash: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    subject: Mapped[Subject] = relationship()

    def audit_scope(self) -> str | None:
        return f"lot:{self.id}"

    @property
    def din_record(self) -> Din:
        return Din(facility=self.din[:5], year=self.din[5:7], sequence=self.din[7:], flags=self.din_flags)

    def __str__(self) -> str:
        return self.lot_number
