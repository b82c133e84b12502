"""Parts of `audit verify` run in processes of their own, each on the verifying transaction's own snapshot.

On PostgreSQL the verifying transaction exports its snapshot (`pg_export_snapshot`); every process that reads
for it imports that snapshot first (`SET TRANSACTION SNAPSHOT`), so that the trail's ranges, the records and the
signatures are all read as of one moment, whatever is committed meanwhile. The processes are forked: what the
parent has read (the replayed trail) is theirs without being sent; only what each part finds comes back.
Elsewhere (SQLite, a database in memory, no fork) the parts run one after the other in the transaction itself.
"""

import gc
import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import psycopg
import psycopg.sql
from flask import current_app
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

_forked: dict[str, object] = {}  # what the forked processes find: the parts, the app, the URL and the snapshot
_forking = threading.Lock()


@dataclass(frozen=True)
class Part:
    """A part of the verification: what it reads and finds, and about how many rows it reads (largest first)."""

    rows: int
    find: Callable[[Session], list]


def can_part(session: Session, workers: int) -> bool:
    """Whether parts may run apart: on PostgreSQL, a database of its own, and processes that can be forked."""
    url = session.get_bind().url
    return (workers > 1 and session.get_bind().dialect.name == "postgresql"
            and url.database not in (None, "") and "fork" in multiprocessing.get_all_start_methods())


def exported_snapshot(session: Session) -> str:
    """The name of this transaction's snapshot, for processes to read as of the same moment."""
    return session.execute(text("SELECT pg_export_snapshot()")).scalar_one()


def import_snapshot(dbapi_connection, snapshot: str) -> None:
    """Begin, on a DB-API connection with no transaction yet, a repeatable-read one that sees the exported snapshot."""
    dbapi_connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    with dbapi_connection.cursor() as cursor:
        cursor.execute(psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot)))


def found_in_parts(session: Session, parts: Sequence[Part], workers: int) -> list[list]:
    """What each part finds, in the order given: in up to `workers` processes where they can run apart.

    The processes read committed data only, as of this transaction's snapshot: call it from a transaction
    that has written nothing (verify_as_of_now does). A process that dies makes the verification fail with an
    error, never hang."""
    if not can_part(session, workers) or len(parts) < 2:
        return [part.find(session) for part in parts]
    order = sorted(range(len(parts)), key=lambda index: -parts[index].rows)
    with _forking:  # one verification's parts at a time in this process: the forked processes read _forked
        _forked.update(parts=list(parts), app=current_app._get_current_object(), snapshot=exported_snapshot(session),
                       url=session.get_bind().url.render_as_string(hide_password=False))
        gc.freeze()  # what the parent read stays shared with the processes, not copied as they touch it
        try:
            with ProcessPoolExecutor(min(workers, len(parts)), mp_context=multiprocessing.get_context("fork")) as pool:
                found = dict(pool.map(_find_apart, order))
        finally:
            gc.unfreeze()
            _forked.clear()
    return [found[index] for index in range(len(parts))]


def _find_apart(index: int) -> tuple[int, list]:
    """Run one part on a connection of this process's own, on the verifying transaction's snapshot."""
    engine = create_engine(_forked["url"], poolclass=NullPool)
    try:
        with _forked["app"].app_context(), engine.connect() as connection:
            import_snapshot(connection.connection.dbapi_connection, _forked["snapshot"])
            with Session(bind=connection) as session:
                return index, _forked["parts"][index].find(session)
    finally:
        engine.dispose()
