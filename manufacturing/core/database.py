"""Engine behaviour: SQLite's WAL, foreign keys, busy timeout and IMMEDIATE writes; the schema owner's engine."""

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

from manufacturing.extensions import db


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
def _begin_immediate(connection) -> None:
    """Take SQLite's write lock at BEGIN, so that audit appends are serialised, never forked."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def owner_engine(app) -> Engine:
    """The engine of the schema's owner (DATABASE_OWNER_URI), or the application's own where none is set."""
    owner_uri = app.config.get("DATABASE_OWNER_URI")
    if not owner_uri:
        return db.engine
    return create_engine(owner_uri, poolclass=NullPool)
