"""Specification versions seen, each kept with its exact content."""

from datetime import date, datetime

from sqlalchemy import String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from manufacturing.core.audit import Audited
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db


class SpecVersion(Audited, db.Model):
    """One version of one specification, kept with its exact content so a pinned lot can be re-read."""

    __tablename__ = "spec_versions"
    __audit_entity__ = "spec_version"
    __audit_exclude__ = frozenset({"content"})
    __table_args__ = (UniqueConstraint("spec_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    spec_id: Mapped[str] = mapped_column(String(80))
    version: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    effective: Mapped[date]
    source: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)

    def audit_scope(self) -> str | None:
        return f"spec:{self.spec_id}"
