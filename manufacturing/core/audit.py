"""Append-only audit trail sealed with a key kept outside the database (21 CFR 11.10(e)).

One function appends (`_append`); everything that reaches the audit table goes through it: the
row-level changes of audited models, collected after each flush, and the explicit events
(security events, business events) recorded with `record_event`. Each row carries a MAC of its
content and a keyed link to the row before it; the head's MAC covers the length and the last link.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Connection, Index, Integer, String, Text, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from manufacturing.core import clock, seals
from manufacturing.core.keyring import keyring
from manufacturing.core.serialize import column_values, stored_value
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db

GENESIS = "0" * 64
ACTOR_KEY = "audit_actor"
REASON_KEY = "audit_reason"
DELETED_KEY = "audit_deleted"


class AuditEvent(db.Model):
    """One row of the trail; never updated or deleted (triggers refuse both, on either database)."""

    __tablename__ = "audit_events"
    # The trail page filters by person, record or scope and reads newest first: each index ends with the id.
    __table_args__ = (Index("ix_audit_events_occurred_at_id", "occurred_at", "id"),
                      Index("ix_audit_events_username_id", "username", "id"),
                      Index("ix_audit_events_user_id_id", "user_id", "id"),
                      Index("ix_audit_events_entity_id", "entity_type", "entity_id", "id"),
                      Index("ix_audit_events_entity_type_id", "entity_type", "id"),
                      Index("ix_audit_events_scope_id", "scope", "id"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity_type: Mapped[str] = mapped_column(String(80))
    entity_id: Mapped[str | None] = mapped_column(String(80))
    scope: Mapped[str | None] = mapped_column(String(80))
    changes: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    @property
    def change_map(self) -> dict[str, dict]:
        """Return the changes as {field: {"old": ..., "new": ...}}; a bare value (older rows) reads as new."""
        data = json.loads(self.changes)
        return {field: value if isinstance(value, dict) else {"new": value} for field, value in data.items()}

    @property
    def change_items(self) -> list[tuple[str, object, object]]:
        """Return (field, old, new) triples for display."""
        return [(field, value.get("old"), value.get("new")) for field, value in sorted(self.change_map.items())]


class AuditChainHead(db.Model):
    """The single row every append locks, so that concurrent writers cannot fork the chain."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    length: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))


def sealed_head(length: int, last_hash: str) -> dict:
    """The values of a chain head of this length ending in this link, sealed with the current key."""
    return {"length": length, "last_hash": last_hash, "key_id": keyring().current_id,
            "mac": seals.head_mac(length, last_hash)}


class Audited:
    """Mixin: every insert, update and delete of this model is written to the audit trail."""

    __audit_exclude__: frozenset[str] = frozenset()
    __audit_mask__: frozenset[str] = frozenset()

    @classmethod
    def audit_entity(cls) -> str:
        return getattr(cls, "__audit_entity__", None) or cls.__tablename__

    def audit_id(self) -> str:
        return str(self.id)

    def audit_scope(self) -> str | None:
        """Name the record this one belongs to (e.g. 'lot:12'), so its history can be gathered."""
        return None


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str


SYSTEM = Actor(None, "system")


def set_actor(session: Session, user_id: int | None, username: str) -> None:
    """Name who is acting in this session; every row appended afterwards carries it."""
    session.info[ACTOR_KEY] = Actor(user_id, username)


def current_actor(session: Session) -> Actor:
    return session.info.get(ACTOR_KEY, SYSTEM)


def set_reason(session: Session, reason: str | None) -> None:
    """Give the reason for the changes of this transaction (Annex 11 section 9)."""
    cleaned = (reason or "").strip()
    if cleaned:
        session.info[REASON_KEY] = cleaned
    else:
        session.info.pop(REASON_KEY, None)


def current_reason(session: Session) -> str | None:
    return session.info.get(REASON_KEY)


def record_event(
    session: Session,
    action: str,
    entity_type: str,
    entity_id: object = None,
    changes: dict | None = None,
    *,
    scope: str | None = None,
    reason: str | None = None,
    actor: Actor | None = None,
) -> None:
    """Append an explicit event (login, lockout, release...) to the trail in this transaction."""
    entry = _entry(
        session,
        action,
        entity_type,
        None if entity_id is None else str(entity_id),
        changes or {},
        scope=scope,
        reason=reason or current_reason(session),
        actor=actor,
    )
    _append(session.connection(), [entry])


def _entry(session, action, entity_type, entity_id, changes, *, scope, reason, actor=None) -> dict:
    who = actor or current_actor(session)
    return {
        "occurred_at": clock.now(),
        "user_id": who.user_id,
        "username": who.username,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "scope": scope,
        "changes": json.dumps(changes, sort_keys=True, separators=(",", ":"), ensure_ascii=False),
        "reason": reason,
    }


def _lock_head(connection: Connection):
    head = AuditChainHead.__table__
    query = select(head.c.last_hash, head.c.length).where(head.c.id == 1)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).one_or_none()
    if row is None:
        raise RuntimeError("the audit chain head is missing: run 'flask db upgrade'")
    return row


def _append(connection: Connection, entries: list[dict]) -> None:
    """Append entries to the chain while holding the chain head (the only writer of the table)."""
    if not entries:
        return
    head = _lock_head(connection)
    previous, key_id = head.last_hash, keyring().current_id
    for entry in entries:
        entry.update(key_id=key_id, mac=seals.row_mac(entry), prev_hash=previous)
        entry["hash"] = previous = seals.link_hash(previous, entry["mac"])
    connection.execute(insert(AuditEvent.__table__), entries)
    connection.execute(
        update(AuditChainHead.__table__)
        .where(AuditChainHead.__table__.c.id == 1)
        .values(**sealed_head(head.length + len(entries), previous))
    )


def _changed_fields(obj: Audited, dialect) -> dict:
    from sqlalchemy import inspect

    state = inspect(obj)
    changes = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in obj.__audit_exclude__:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        column = attr.columns[0]
        old = stored_value(column, history.deleted[0], dialect) if history.deleted else None
        new = stored_value(column, history.added[0], dialect) if history.added else None
        if old == new:
            continue
        changes[key] = _masked(obj, key, {"old": old, "new": new})
    return changes


def _masked(obj: Audited, key: str, change: dict) -> dict:
    """Hide a masked value; keep a keyed fingerprint of the new one, so that a change behind the trail is seen."""
    if key not in obj.__audit_mask__:
        return change
    hidden = {side: "(hidden)" for side, value in change.items() if value is not None}
    if change.get("new") is not None:
        hidden["sealed"] = seals.hidden_value(obj.audit_entity(), key, change["new"])
    return hidden


def _snapshot(obj: Audited, side: str, dialect) -> dict:
    values = column_values(obj, dialect, exclude=obj.__audit_exclude__)
    return {key: _masked(obj, key, {side: value}) for key, value in values.items() if value is not None}


def _collect(session: Session) -> list[dict]:
    dialect = session.get_bind().dialect
    reason = current_reason(session)
    entries = []
    groups = (("created", session.new), ("updated", session.dirty), ("deleted", session.deleted))
    for verb, objects in groups:
        for obj in objects:
            if not isinstance(obj, Audited):
                continue
            if verb == "updated":
                changes = _changed_fields(obj, dialect)
                if not changes:
                    continue
            elif verb == "deleted":
                changes = session.info.get(DELETED_KEY, {}).get(id(obj), {})
            else:
                changes = _snapshot(obj, "new", dialect)
            action = f"{obj.audit_entity()}.{verb}"
            entries.append(
                _entry(session, action, obj.audit_entity(), obj.audit_id(), changes,
                       scope=obj.audit_scope(), reason=reason)
            )
    return entries


@event.listens_for(Session, "before_flush")
def _snapshot_deleted(session: Session, flush_context, instances) -> None:
    """Keep the last values of records about to be deleted; after the flush they are gone."""
    dialect = session.get_bind().dialect
    session.info[DELETED_KEY] = {
        id(obj): _snapshot(obj, "old", dialect) for obj in session.deleted if isinstance(obj, Audited)
    }


@event.listens_for(Session, "after_flush")
def _audit_after_flush(session: Session, flush_context) -> None:
    _append(session.connection(), _collect(session))
    session.info.pop(DELETED_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_reason(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(REASON_KEY, None)


def _load_old_values(target, value, oldvalue, initiator):
    return value


@event.listens_for(db.Model, "mapper_configured", propagate=True)
def _capture_old_values(mapper, cls) -> None:
    """Make every audited column load its old value before a change, even when expired."""
    if not issubclass(cls, Audited):
        return
    for attr in mapper.column_attrs:
        event.listen(getattr(cls, attr.key), "set", _load_old_values, active_history=True, retval=True)
