"""The version of a document's data, known without building the data: the last audit event that changed it.

Every change of a GMP record is audited (core/audit.py), and audit ids only grow. The batch record shows the
lot's whole audit trail but for the stored documents themselves, so the lot's last such event is the version of
its data; a certificate is made from its disposition, so the disposition's last event is the certificate's.
A stored document keeps the version it was made from: while the version stands, the stored bytes are current.
"""

from sqlalchemy import func, select

from manufacturing.core.audit import AuditEvent
from manufacturing.extensions import db

DOCUMENT_EVENTS = "stored_document"


def lot_version(lot_id: int) -> int:
    """The version of a lot's batch record data: its last audited change other than a document being stored."""
    query = select(func.max(AuditEvent.id)).where(AuditEvent.scope == f"lot:{lot_id}",
                                                  AuditEvent.entity_type != DOCUMENT_EVENTS)
    return db.session.scalar(query) or 0


def disposition_version(lot_id: int, disposition_id: int) -> int:
    """The version of a certificate's data: the last audited change of the disposition it states."""
    query = select(func.max(AuditEvent.id)).where(AuditEvent.scope == f"lot:{lot_id}",
                                                  AuditEvent.entity_type == "disposition",
                                                  AuditEvent.entity_id == str(disposition_id))
    return db.session.scalar(query) or 0
