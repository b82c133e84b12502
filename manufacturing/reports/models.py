"""The trial report as issued: each stored revision of the PDF with its SHA-256 under the site's seal."""

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from manufacturing.core.audit import Audited
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db

SCOPE = "trial"


class StoredTrialReport(Audited, db.Model):
    """One stored revision of the trial report; a new revision only when the trial's figures changed."""

    __tablename__ = "trial_reports"
    __audit_entity__ = "trial_report"
    __audit_exclude__ = frozenset({"content"})

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(unique=True)
    source_hash: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    filename: Mapped[str] = mapped_column(String(120))
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    def audit_scope(self) -> str | None:
        return SCOPE
