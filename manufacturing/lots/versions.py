"""The version of what a lot's pages show, known without building them: the last audit event of the lot or its subject.

Every change of a lot's records and of its subject's is audited under their scopes (core/audit.py), in commit
order, so a later version means changed data and the same version the same data.
"""

from sqlalchemy import bindparam, select, union_all

from manufacturing.core.audit import AuditEvent
from manufacturing.extensions import db
from manufacturing.lots.models import Lot


def _last_of(scope_parameter: str):
    query = select(AuditEvent.id, AuditEvent.hash).where(AuditEvent.scope == bindparam(scope_parameter))
    return query.order_by(AuditEvent.id.desc()).limit(1).subquery().select()


# Built once (every page view asks): the last audit event of the lot and of its subject, as (id, hash) rows.
LAST_EVENTS = (_last_of("lot_scope"), _last_of("subject_scope"))
_PAGE_VERSION = union_all(*LAST_EVENTS)


def scopes(lot: Lot) -> dict[str, str]:
    """The parameters of LAST_EVENTS for a lot."""
    return {"lot_scope": f"lot:{lot.id}", "subject_scope": f"subject:{lot.subject_id}"}


def latest(rows) -> tuple[int, str]:
    """The later of the (id, hash) rows read; (0, "") before any."""
    return max(((row[0], row[1]) for row in rows), default=(0, ""))


def page_version(lot: Lot) -> tuple[int, str]:
    """The version of what a lot's pages show: the last audit event of the lot or its subject, id and hash.

    Stored documents count here (the page lists them); the hash tells two histories apart under the same ids.
    """
    return latest(db.session.execute(_PAGE_VERSION, scopes(lot)).all())
