"""Read the audit trail: filtered, newest first."""

from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent

TRAIL_ORDER = (AuditEvent.id.desc(),)  # the chain's own order: newest first


def _local_midnight(day: date) -> datetime:
    return clock.local_from_naive(datetime.combine(day, time.min))


def trail_query(entity=None, entity_id=None, scope=None, user=None, action=None,
                date_from: date | None = None, date_to: date | None = None) -> Select:
    """Build the query of the trail page; dates are the site's local dates."""
    query = select(AuditEvent)
    if entity:
        query = query.where(AuditEvent.entity_type == entity.strip())
    if entity_id:
        query = query.where(AuditEvent.entity_id == entity_id.strip())
    if scope:
        query = query.where(AuditEvent.scope == scope.strip())
    if user:
        query = query.where(AuditEvent.username == user.strip().lower())
    if action:
        query = query.where(AuditEvent.action.startswith(action.strip(), autoescape=True))
    if date_from:
        query = query.where(AuditEvent.occurred_at >= _local_midnight(date_from))
    if date_to:
        query = query.where(AuditEvent.occurred_at < _local_midnight(date_to + timedelta(days=1)))
    return query.order_by(*TRAIL_ORDER)
