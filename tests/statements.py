"""Count the SQL statements a page or a builder runs, on lots of several sizes: a page reads a lot in a fixed number
of queries, whatever its number of steps, results or dose units."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from flask import has_request_context
from sqlalchemy import event

from manufacturing.extensions import db
from tests.conftest import _bench_staff, _bench_start, clean_database
from tests.factories import PASSWORD
from tests.release.factories import SizedLot, set_up_sized_lot
from tests.snapshots import built_once

SCALES = (1, 5)  # the small lot, and one with five times its culture days, retests and corrections (and 5 units)


@contextmanager
def counting(requests_only: bool = False) -> Iterator[list[str]]:
    """Collect the statements the database receives inside the block (only the requests', if asked)."""
    statements: list[str] = []

    def note(connection, cursor, statement, parameters, context, executemany) -> None:
        if not requests_only or has_request_context():
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def sized_lot(scale: int) -> SizedLot:
    """The lot of this scale, built once per database by the factories, on a clean database."""
    db.session.remove()
    clean_database()
    start = _bench_start()
    return built_once(f"lot of scale {scale}", start, lambda: set_up_sized_lot(*_bench_staff(), start, scale))


def statements_by_scale(read: Callable[[SizedLot], object]) -> dict[int, int]:
    """Count the statements of `read` on the lot of each scale, read once before (a first request warms up)."""
    counts = {}
    for scale in SCALES:
        world = sized_lot(scale)
        read(world)
        with counting() as statements:
            read(world)
        counts[scale] = len(statements)
    return counts


def page_statements_by_scale(app, reader: Callable[[SizedLot], object], path: Callable[[SizedLot], str],
                             shows: str | None = None) -> dict[int, int]:
    """Count the statements of one GET of a lot's page on each scale, logged in as `reader` of the lot's bench."""
    client = app.test_client()

    def page(world: SizedLot) -> None:
        client.post("/login", data={"username": reader(world).username, "password": PASSWORD})
        response = client.get(path(world))
        assert response.status_code == 200 and (shows is None or shows in response.get_data(as_text=True))

    return statements_by_scale(page)
