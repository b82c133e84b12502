"""Documents are issued once per version of their data: stored with their SHA-256, then served as stored.

A document's source hash is the hash of the plain data it was made from; its data version (records/versions.py)
says, without building the data again, whether the data changed since. Only a write stores a revision
(a release, QA storing the batch record, a label print); earlier revisions stay. Reading never stores:
it serves the stored revision made from the same data, or a copy rendered then and marked not stored.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from manufacturing.core import clock, seals
from manufacturing.core.audit_verify import DOCUMENT
from manufacturing.core.findings import Finding, replaced_content
from manufacturing.core.keyring import keyring
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseUnit
from manufacturing.records.models import DocumentKind, StoredDocument
from manufacturing.records.signing import signed


def source_hash(data: dict) -> str:
    """Hash the plain data of a document, so that the same data always gives the same hash."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def latest(kind: DocumentKind, lot: Lot, dose: DoseUnit | None = None) -> StoredDocument | None:
    query = select(StoredDocument).where(StoredDocument.kind == kind, StoredDocument.lot_id == lot.id,
                                         StoredDocument.dose_unit_id == (dose.id if dose else None))
    return db.session.scalars(query.order_by(StoredDocument.revision.desc())).first()


def current(kind: DocumentKind, lot: Lot, dose: DoseUnit | None, data_hash: str) -> StoredDocument | None:
    """The latest stored revision if it was made from these very data, else None."""
    document = latest(kind, lot, dose)
    return document if document is not None and document.source_hash == data_hash else None


def unchanged(kind: DocumentKind, lot: Lot, dose: DoseUnit | None,
              changed_since: Callable[[int], bool]) -> StoredDocument | None:
    """The latest stored revision if its data did not change after the version it was made from, else None."""
    document = latest(kind, lot, dose)
    if document is None or document.data_version is None or changed_since(document.data_version):
        return None
    return document


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
          filename: str, user=None, reason: str = "", signature: str | None = None,
          data_version: int | None = None) -> StoredDocument:
    """Return the stored document for this data; render, sign (`signature`: its reason) and store a new revision.

    `data_version` is the version of the data read before they were built: a read serves the stored revision
    while the data still stand at that version.
    """
    db.session.flush()
    lock(lot)  # two stores of one lot's document (a worker and QA's request, say) come in turn: the second finds it
    stored = current(kind, lot, dose, data_hash)
    if stored is not None:
        return stored
    revision, earlier = _next_revision(kind, lot, dose), latest(kind, lot, dose)
    content = signed(render(revision), signature)
    why = reason or ("first issue" if earlier is None else f"the record changed since revision {earlier.revision}")
    document = StoredDocument(kind=kind, lot_id=lot.id, dose_unit_id=dose.id if dose else None, revision=revision,
                              reason=why[:200], source_hash=data_hash, sha256=hashlib.sha256(content).hexdigest(),
                              size=len(content), filename=filename, content=content, created_at=clock.now(),
                              created_by_id=user.id if user is not None else None, key_id=keyring().current_id,
                              data_version=data_version)
    document.mac = seals.document_mac(document)
    db.session.add(document)
    db.session.flush()
    return document


def verify(document: StoredDocument) -> bool:
    """Tell whether the stored bytes still have the SHA-256 recorded when they were issued, under its seal."""
    return seals.bytes_intact(document) and seals.document_sealed(document)


def replaced_documents(session: Session) -> list[Finding]:
    """Every stored document whose bytes, SHA-256 or record no longer match what was sealed at issue."""
    return replaced_content(session, StoredDocument, DOCUMENT, lambda document: (
        f"stored document {document.id} ({document.kind.name} revision {document.revision})"),
        seals.document_sealed, "issue")


@dataclass(frozen=True)
class Download:
    """A document handed out: stored bytes with their SHA-256, or a copy rendered now (no SHA-256: not stored)."""

    content: bytes
    filename: str
    sha256: str | None = None


def unstored_label(kind: DocumentKind, lot: Lot, dose: DoseUnit | None) -> str:
    """What a copy that is not stored says in place of its revision number."""
    earlier = latest(kind, lot, dose)
    if earlier is None:
        return "not stored (no revision stored yet)"
    return f"not stored (changed since the stored revision {earlier.revision})"


def read(kind: DocumentKind, lot: Lot, dose: DoseUnit | None, data_hash: str, render: Callable[[str], bytes],
         filename: str) -> Download:
    """Serve the stored revision made from these data, or render a copy without storing anything."""
    stored = current(kind, lot, dose, data_hash)
    if stored is not None:
        return Download(stored.content, stored.filename, stored.sha256)
    return Download(render(unstored_label(kind, lot, dose)), filename)
