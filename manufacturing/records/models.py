"""Stored documents: each revision with its SHA-256; the queue of documents still to be stored."""

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, text
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
    # The version of the data it was made from (records/versions.py): a later read compares versions, not data.
    data_version: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def audit_scope(self) -> str | None:
        return f"lot:{self.lot_id}"


class JobKind(enum.Enum):
    RELEASE = "Certificate and batch record of a release"
    WITHDRAWAL = "Certificate of a withdrawn release, and the batch record"

    @property
    def title(self) -> str:
        return self.value


class DocumentJob(db.Model):
    """Documents still to be stored for a QA decision, queued in the decision's own transaction.

    Not a GMP record itself (the stored documents are, audited): a work item, done once its documents are stored.
    """

    __tablename__ = "document_jobs"
    __table_args__ = (Index("ix_document_jobs_pending", "id", sqlite_where=text("done_at IS NULL"),
                            postgresql_where=text("done_at IS NULL")),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[JobKind] = mapped_column(Enum(JobKind, native_enum=False, length=20))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    dose_unit_id: Mapped[int] = mapped_column(ForeignKey("dose_units.id"))
    disposition_id: Mapped[int] = mapped_column(ForeignKey("dispositions.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data_version: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # after a failed try: not again before
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
