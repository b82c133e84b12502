"""QA's dispositions of dose units, and post-release alerts."""

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, String, Text
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


class Disposition(OfDoseUnit, Signable, db.Model):
    """QA's signed decision on one dose unit, with the certificate data it was made on."""

    __tablename__ = "dispositions"
    __audit_entity__ = "disposition"

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

    dose: Mapped[DoseUnit] = relationship()


class ReleaseAlert(OfDoseUnit, Audited, db.Model):
    """A failing result that arrived after release: open until someone records the physician was informed."""

    __tablename__ = "release_alerts"
    __audit_entity__ = "release_alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    dose_unit_id: Mapped[int] = mapped_column(ForeignKey("dose_units.id"), index=True)
    qc_result_id: Mapped[int] = mapped_column(ForeignKey("qc_results.id"))
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    physician_name: Mapped[str | None] = mapped_column(String(120))
    informed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    informed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)

    dose: Mapped[DoseUnit] = relationship()

    @property
    def is_open(self) -> bool:
        return self.informed_at is None
