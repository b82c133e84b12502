"""COPY ... TO STDOUT read straight from libpq, a list of rows at a time.

psycopg's own COPY reads each row through a chain of Python generators (about 3.6 µs a row, a third of an
audit scan); its libpq wrapper (`psycopg.pq`, public API) hands over a row per call for a fifth of that.
The statement is sent whole (COPY takes no bind parameters): callers build it from integers only.
"""

import select
from collections.abc import Iterator

import psycopg
from psycopg import pq

COPY_FAILED = "the audit trail could not be read"


def copied_lines(dbapi_connection: psycopg.Connection, statement: str, batch: int) -> Iterator[list]:
    """Each row COPY sends (a line of its text, as a buffer), in lists of up to `batch` rows.

    The connection is left ready for the next statement: a COPY stopped midway is read to its end."""
    pgconn = dbapi_connection.pgconn
    pgconn.send_query(statement.encode())
    while pgconn.flush():
        select.select([], [pgconn.socket], [])
    started = pgconn.get_result()
    if started is None or started.status != pq.ExecStatus.COPY_OUT:
        _finish(pgconn, started, pq.ExecStatus.COPY_OUT)
    ended = False
    try:
        lines = []
        while (row := pgconn.get_copy_data(0))[0] >= 0:
            lines.append(row[1])
            if len(lines) >= batch:
                yield lines
                lines = []
        ended = True
        yield lines
    finally:
        if not ended:
            _read_to_end(pgconn)
        _finish(pgconn, pgconn.get_result(), pq.ExecStatus.COMMAND_OK)


def _read_to_end(pgconn: pq.abc.PGconn) -> None:
    try:
        while pgconn.get_copy_data(0)[0] >= 0:
            pass
    except psycopg.Error:
        pass  # the COPY failed: its result says why


def _finish(pgconn: pq.abc.PGconn, result: pq.abc.PGresult | None, status: pq.ExecStatus) -> None:
    """Read the statement's last results; raise the server's error if it did not reach `status`."""
    while (more := pgconn.get_result()) is not None:
        result = more if result is None or result.status == status else result
    if result is None or result.status != status:
        message = result.error_message.decode(errors="replace") if result is not None else ""
        sqlstate = result.error_field(pq.DiagnosticField.SQLSTATE) if result is not None else None
        error = psycopg.errors.lookup(sqlstate.decode()) if sqlstate else psycopg.DatabaseError
        raise error(message or COPY_FAILED)
