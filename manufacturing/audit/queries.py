"""Read the audit trail: filtered, newest first."""

from datetime import date, timedelta

from sqlalchemy import Select, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.paging import Page, keyset_page, page_size
from manufacturing.extensions import db

CHAIN_ORDER = (AuditEvent.id.desc(),)  # the chain's own order: newest first
TIME_ORDER = (AuditEvent.occurred_at.desc(), AuditEvent.id.desc())  # between dates, read along the time index



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
        query = query.where(_by_person(user.strip().lower()))
    if action:
        query = query.where(AuditEvent.action.startswith(action.strip(), autoescape=True))
    if date_from:
        query = query.where(AuditEvent.occurred_at >= clock.local_midnight(date_from))
    if date_to:
        query = query.where(AuditEvent.occurred_at < clock.local_midnight(date_to + timedelta(days=1)))
    return query.order_by(*CHAIN_ORDER)


def _by_person(username: str):
    """Acts of an account, in its own name or through its API tokens (the trail keeps the account's id on both, and
    its id is read from a row in its own name: a login, at least); a name of no account is matched as written."""
    user_id = db.session.scalar(select(AuditEvent.user_id).where(AuditEvent.username == username,
                                                                 AuditEvent.user_id.is_not(None)).limit(1))
    return AuditEvent.user_id == user_id if user_id is not None else AuditEvent.username == username


def trail_page(query: Select, dated: bool = False) -> Page:
    """The page of the trail the request asks for: in the chain's order, by time when dates bound it."""
    return keyset_page(query, TIME_ORDER if dated else CHAIN_ORDER, page_size("AUDIT_PAGE_SIZE"))
