"""Stored documents: each revision with its SHA-256."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from manufacturing.core.audit import Audited
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db


class DocumentKind(enum.Enum):
    BATCH_RECORD = "Executed batch record"
    CERTIFICATE = "Certificate of analysis"
    LABEL = "Bag label"

    @property
    def title(self) -> str:
        return self.value


class StoredDocument(Audited, db.Model):
    """A document as it was issued: its bytes, their SHA-256, and what it documents. Never rewritten."""

    __tablename__ = "stored_documents"
    __audit_entity__ = "stored_document"
    __audit_exclude__ = frozenset({"content"})
    __table_args__ = (UniqueConstraint("kind", "lot_id", "dose_unit_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(Enum(DocumentKind, native_enum=False, length=20))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    dose_unit_id: Mapped[int | None] = mapped_column(ForeignKey("dose_units.id"), index=True)
    revision: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    source_hash: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    filename: Mapped[str] = mapped_column(String(120))
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def audit_scope(self) -> str | None:
        return f"lot:{self.lot_id}"
