"""Documents are issued once per version of their data: stored with their SHA-256, then served as stored.

A document's source hash is the hash of the plain data it was made from. When the data change (a
correction, a new result, a signature), the next request makes a new revision; earlier revisions stay.
"""

import hashlib
import json
from collections.abc import Callable

from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseUnit
from manufacturing.records.models import DocumentKind, StoredDocument


def source_hash(data: dict) -> str:
    """Hash the plain data of a document, so that the same data always gives the same hash."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def latest(kind: DocumentKind, lot: Lot, dose: DoseUnit | None = None) -> StoredDocument | None:
    query = select(StoredDocument).where(StoredDocument.kind == kind, StoredDocument.lot_id == lot.id,
                                         StoredDocument.dose_unit_id == (dose.id if dose else None))
    return db.session.scalars(query.order_by(StoredDocument.revision.desc())).first()


def revisions(lot: Lot) -> list[StoredDocument]:
    query = select(StoredDocument).where(StoredDocument.lot_id == lot.id)
    return list(db.session.scalars(query.order_by(StoredDocument.kind, StoredDocument.dose_unit_id,
                                                  StoredDocument.revision)))


def _next_revision(kind: DocumentKind, lot: Lot, dose: DoseUnit | None) -> int:
    query = select(func.max(StoredDocument.revision)).where(
        StoredDocument.kind == kind, StoredDocument.lot_id == lot.id,
        StoredDocument.dose_unit_id == (dose.id if dose else None))
    return (db.session.scalar(query) or 0) + 1


def issue(kind: DocumentKind, lot: Lot, dose: DoseUnit | None, data_hash: str, render: Callable[[int], bytes],
          filename: str, user=None, reason: str = "") -> StoredDocument:
    """Return the stored document for this data; render and store a new revision when the data changed."""
    current = latest(kind, lot, dose)
    if current is not None and current.source_hash == data_hash:
        return current
    revision = _next_revision(kind, lot, dose)
    content = render(revision)
    why = reason or ("first issue" if current is None else f"the record changed since revision {current.revision}")
    document = StoredDocument(kind=kind, lot_id=lot.id, dose_unit_id=dose.id if dose else None, revision=revision,
                              reason=why[:200], source_hash=data_hash, sha256=hashlib.sha256(content).hexdigest(),
                              size=len(content), filename=filename, content=content, created_at=clock.now(),
                              created_by_id=user.id if user is not None else None)
    db.session.add(document)
    db.session.flush()
    return document


def verify(document: StoredDocument) -> bool:
    """Tell whether the stored bytes still have the SHA-256 recorded when they were issued."""
    return hashlib.sha256(document.content).hexdigest() == document.sha256
