"""Login sessions kept in the database: revocable, idle- and age-limited, the same on every worker."""

import secrets
from datetime import timedelta

from flask import current_app, flash
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import contains_eager

from manufacturing.accounts.models import AuthSession, User
from manufacturing.core import clock, seals
from manufacturing.core.audit import Actor, record_event, set_actor
from manufacturing.core.database import writing
from manufacturing.extensions import db

TOUCH_INTERVAL = timedelta(seconds=30)


def _digest(token: str) -> str:
    return seals.session_token_mac(token)


def _owner(token: str) -> int | None:
    """The user a token was issued to: it begins with their id, so a session row moved to another user fails."""
    prefix, _, _ = token.partition(".")
    return int(prefix) if prefix.isdigit() else None


def start_session(user: User, remote_addr: str | None) -> str:
    """Open a new session and return its token (a new identifier at every login)."""
    token = f"{user.id}.{secrets.token_urlsafe(32)}"
    now = clock.now()
    db.session.add(AuthSession(token_hash=_digest(token), user_id=user.id, started_at=now,
                               last_seen_at=now, remote_addr=(remote_addr or "")[:64] or None))
    user.session_token = token
    return token


def end_sessions(user: User, reason: str, *, only_token: str | None = None,
                 except_token: str | None = None) -> None:
    """End the user's open sessions (or one of them); their cookies stop working at once."""
    query = update(AuthSession).where(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None))
    if only_token:
        query = query.where(AuthSession.token_hash == _digest(only_token))
    if except_token:
        query = query.where(AuthSession.token_hash != _digest(except_token))
    db.session.execute(query.values(ended_at=clock.now(), end_reason=reason))


def _expiry(record: AuthSession, now) -> tuple[str, str, str] | None:
    """Say why a session has run out (its absolute lifetime, or idleness), or None while it lives."""
    config = current_app.config
    if now - record.started_at > timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]):
        return ("absolute timeout", "auth.session_expired",
                f"Your session reached its limit of {config['SESSION_ABSOLUTE_HOURS']} hours. Please log in again.")
    if now - record.last_seen_at > timedelta(minutes=config["IDLE_TIMEOUT_MINUTES"]):
        return ("idle timeout", "auth.session_timeout",
                "Your session ended after a period without activity. Please log in again.")
    return None


# Every request asks, so built once: the session, its user and their roles in one statement. Contains-eager
# rather than a joined load: a joined load would stay with the user and join its roles to a later row lock.
_LIVE_SESSION = (select(AuthSession).join(AuthSession.user).outerjoin(User.roles)
                 .where(AuthSession.token_hash == bindparam("token_hash"))
                 .options(contains_eager(AuthSession.user).contains_eager(User.roles)))


def resume(token: str) -> User | None:
    """Return the user of a live session, ending it if idle or too old; None if it is not live."""
    record = db.session.scalars(_LIVE_SESSION, {"token_hash": _digest(token)}).unique().first()
    if record is None or record.ended_at is not None or record.user_id != _owner(token):
        return None
    user = record.user
    now = clock.now()
    if not user.active or user.locked:
        with writing(db.session):
            record.ended_at, record.end_reason = now, "account disabled"
            db.session.commit()
        return None
    expiry = _expiry(record, now)
    if expiry is not None:
        reason, action, message = expiry
        with writing(db.session):
            record.ended_at, record.end_reason = now, reason
            record_event(db.session, action, "user", user.id, scope=f"user:{user.id}",
                         actor=Actor(user.id, user.username))
            db.session.commit()
        flash(message, "warning")
        return None
    if now - record.last_seen_at > TOUCH_INTERVAL:
        with writing(db.session):
            record.last_seen_at = now
            db.session.commit()
    user.session_token = token
    set_actor(db.session, user.id, user.username)
    return user
