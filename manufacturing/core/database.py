"""Engine behaviour: SQLite's WAL, foreign keys, busy timeout and IMMEDIATE writes; the schema owner's engine.

SQLite has one write lock for the whole file. A transaction that may write takes it at BEGIN (IMMEDIATE), so
that it never reads a state another writer is about to change; a reading request (GET, HEAD, OPTIONS) begins
a plain (deferred) transaction and waits for no writer. A reading request that must write all the same (a
login session's idle clock) does so inside `writing`; a command that only reads (`audit verify`) inside `reading`.
"""

import os
from contextlib import contextmanager
from contextvars import ContextVar
from weakref import WeakSet

from flask import has_request_context, request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from manufacturing.extensions import db

READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_writing: ContextVar[bool | None] = ContextVar("writing", default=None)
"""Whether the transactions begun now may write: True, False, or None to go by the request's method."""
_applications: WeakSet = WeakSet()


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    if not type(dbapi_connection).__module__.startswith("sqlite3"):
        return
    # Let SQLAlchemy's "begin" event emit BEGIN itself, so that it can be IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _begin(connection) -> None:
    """On SQLite, take the write lock at BEGIN unless the request only reads (audit appends never fork)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN" if reads_only() else "BEGIN IMMEDIATE")


def reads_only() -> bool:
    """Tell whether the transaction about to begin belongs to a reading request."""
    writes = _writing.get()
    if writes is not None:
        return not writes
    return has_request_context() and request.method in READING_METHODS


@contextmanager
def writing(session: Session):
    """Write from a reading request: end its reading transaction and begin one that may write.

    Objects loaded before are expired by the rollback and read again in the writing transaction.
    """
    session.rollback()
    token = _writing.set(True)
    try:
        yield
    finally:
        _writing.reset(token)


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def owner_engine(app) -> Engine:
    """The engine of the schema's owner (DATABASE_OWNER_URI), or the application's own where none is set."""
    owner_uri = app.config.get("DATABASE_OWNER_URI")
    if not owner_uri:
        return db.engine
    return create_engine(owner_uri, poolclass=NullPool)


@contextmanager
def reading():
    """Begin the transactions of this block without the write lock: they only read (`audit verify`, say)."""
    token = _writing.set(False)
    try:
        yield
    finally:
        _writing.reset(token)


def dispose_after_fork(app) -> None:
    """Let a forked process (a worker of a preloaded gunicorn, say) open connections of its own."""
    _applications.add(app)


def _drop_inherited_connections() -> None:
    """In a forked child: forget the parent's pooled connections without closing them under the parent."""
    for app in list(_applications):
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)


os.register_at_fork(after_in_child=_drop_inherited_connections)
