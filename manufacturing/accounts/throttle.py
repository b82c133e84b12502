"""Failed logins counted per account name and per client address, each key waiting longer after every failure.

The rows are read under a row lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite serialises every write
transaction), so the count holds across workers and hosts. A refused attempt while a key waits is counted
on its row, not written to the trail one by one: the next wait imposed on the key records how many there were.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from manufacturing.accounts.models import LoginThrottle
from manufacturing.core import clock
from manufacturing.core.audit import Actor, record_event
from manufacturing.extensions import db

ACCOUNT = "account"
ADDRESS = "address"
FREE_FAILURES = {ACCOUNT: "LOGIN_THROTTLE_ACCOUNT_FREE", ADDRESS: "LOGIN_THROTTLE_ADDRESS_FREE"}


def keys_of(username: str, remote_addr: str | None) -> list[tuple[str, str]]:
    """Name the keys an attempt counts against, in the one order rows are locked."""
    return [(ACCOUNT, username[:80] or "(blank)"), (ADDRESS, (remote_addr or "unknown")[:80])]


def _insert_if_new(kind: str, key: str) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(LoginThrottle).values(
        kind=kind, key=key, failures=0, refused=0, window_started_at=clock.now()).on_conflict_do_nothing())


def claim(username: str, remote_addr: str | None) -> list[LoginThrottle]:
    """Return the throttle rows of an attempt under a row lock, creating those that are new."""
    rows = []
    for kind, key in keys_of(username, remote_addr):
        _insert_if_new(kind, key)
        query = select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key)
        rows.append(db.session.scalars(query.with_for_update().execution_options(populate_existing=True)).one())
    return rows


def waiting(rows: list[LoginThrottle]) -> list[LoginThrottle]:
    """Return the rows whose wait has not ended."""
    now = clock.now()
    return [row for row in rows if row.blocked_until is not None and row.blocked_until > now]


def count_refused(rows: list[LoginThrottle]) -> None:
    """Count an attempt refused unchecked because its keys wait."""
    for row in waiting(rows):
        row.refused += 1


def wait_after(failures: int, free: int) -> timedelta | None:
    """Return the wait imposed after this many failures in a window, or None while tries are free."""
    if failures < free:
        return None
    config = current_app.config
    seconds = config["LOGIN_THROTTLE_FIRST_WAIT_SECONDS"] * 2 ** min(failures - free, 20)
    return timedelta(seconds=min(seconds, config["LOGIN_THROTTLE_MAX_WAIT_SECONDS"]))


def count_failure(rows: list[LoginThrottle], actor: Actor, scope: str | None) -> None:
    """Count a refused, checked attempt against every key; impose and record a wait where one is due."""
    now = clock.now()
    window = timedelta(minutes=current_app.config["LOGIN_THROTTLE_WINDOW_MINUTES"])
    for row in rows:
        if row.last_failed_at is not None and now - row.last_failed_at > window:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        row.last_failed_at = now
        wait = wait_after(row.failures, current_app.config[FREE_FAILURES[row.kind]])
        if wait is not None:
            row.blocked_until = now + wait
            _record_wait(row, wait, actor, scope if row.kind == ACCOUNT else None)


def _record_wait(row: LoginThrottle, wait: timedelta, actor: Actor, scope: str | None) -> None:
    changes = {"kind": {"new": row.kind}, "key": {"new": row.key}, "failures": {"new": row.failures},
               "wait_seconds": {"new": int(wait.total_seconds())},
               "refused_unchecked_since_last_wait": {"new": row.refused}}
    record_event(db.session, "auth.login_throttled", "login_throttle", row.id, changes, scope=scope, actor=actor)
    row.refused = 0


def forget_account(username: str) -> None:
    """Drop the count of an account name (after a good login or an unlock)."""
    db.session.execute(delete(LoginThrottle).where(LoginThrottle.kind == ACCOUNT,
                                                   LoginThrottle.key == username[:80]))
