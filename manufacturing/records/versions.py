"""The version of a document's data, known without building the data: the last audit event that changed it.

Every change of a GMP record is audited (core/audit.py), and audit ids only grow. The batch record shows the
lot's whole audit trail but for the stored documents themselves, and its subject (code, initials: corrected under
the subject's own scope, with its weights and orders), so the last such event of either is the version of its data;
a certificate is made from its disposition, so the disposition's last event is the certificate's.
A stored document keeps the version it was made from: while no later event changed its data, the stored bytes
are current. That question reads only the events after the version (the audit trail's index on scope and id),
whatever the size of the lot or of the trail; the chain head's lock makes ids follow commit order.
"""

from sqlalchemy import func, select

from manufacturing.core.audit import AuditEvent
from manufacturing.extensions import db
from manufacturing.lots.models import Lot

DOCUMENT_EVENTS = "stored_document"


def _of_batch_record(lot_id: int) -> tuple:
    """The events that change a batch record's data: the lot's and its subject's, but documents being stored."""
    subject_id = db.session.scalar(select(Lot.subject_id).where(Lot.id == lot_id))
    return (AuditEvent.scope.in_([f"lot:{lot_id}", f"subject:{subject_id}"]),
            AuditEvent.entity_type != DOCUMENT_EVENTS)


def lot_version(lot_id: int) -> int:
    """The version of a lot's batch record data: the last audited change of the lot or of its subject."""
    return db.session.scalar(select(func.max(AuditEvent.id)).where(*_of_batch_record(lot_id))) or 0


def _of_disposition(lot_id: int, disposition_id: int) -> tuple:
    return (AuditEvent.scope == f"lot:{lot_id}", AuditEvent.entity_type == "disposition",
            AuditEvent.entity_id == str(disposition_id))


def disposition_version(lot_id: int, disposition_id: int) -> int:
    """The version of a certificate's data: the last audited change of the disposition it states."""
    return db.session.scalar(select(func.max(AuditEvent.id)).where(*_of_disposition(lot_id, disposition_id))) or 0


def _any_after(version: int, *where) -> bool:
    return db.session.scalar(select(AuditEvent.id).where(AuditEvent.id > version, *where).limit(1)) is not None


def lot_changed_since(lot_id: int, version: int) -> bool:
    """Whether the lot's batch record data changed after this version."""
    return _any_after(version, *_of_batch_record(lot_id))


def disposition_changed_since(lot_id: int, disposition_id: int, version: int) -> bool:
    """Whether this disposition changed after this version (a later disposition of the unit always has)."""
    return _any_after(version, *_of_disposition(lot_id, disposition_id))
