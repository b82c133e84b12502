"""Benchmarks: a stored batch record served by lot, at demo size and after a large audit trail grew around it.

Serving by lot asks whether an event changed the lot after the stored version, and never builds the record: its
time must not grow with the lot or with the trail. The trail is grown with rows of other lots (a site's years of
lots), appended through the chain as the application does.
"""

import pytest

from manufacturing.core import clock
from manufacturing.core.audit import _append, _entry
from manufacturing.demo import load_story
from manufacturing.extensions import db
from manufacturing.records import documents
from tests.conftest import clean_database
from tests.demo_site import AWAITING_QA, lot_of
from tests.factories import PASSWORD, make_user

OTHER_LOTS_ROWS = 200_000
SERVED_WITHIN_SECONDS = 0.05


@pytest.fixture(scope="module")
def stored_lot(app):
    """The demo story with the prepared lot's batch record stored, and a reader."""
    with app.app_context():
        load_story(clock.now().replace(second=0, microsecond=0))
        db.session.commit()
        lot = lot_of(AWAITING_QA)
        with app.test_request_context():
            documents.batch_record(lot)
        make_user("bench.reader", roles=["QA"])
        db.session.commit()
        lot_id = lot.id
        db.session.remove()
    yield lot_id
    with app.app_context():
        clean_database()


def _reader(app):
    client = app.test_client()
    client.post("/login", data={"username": "bench.reader", "password": PASSWORD})
    return client


def _grow_trail(scope_of, rows: int) -> None:
    """Append `rows` events, in batches, through the audit chain."""
    for start in range(0, rows, 10_000):
        entries = [_entry(db.session, "bench.noted", "bench_note", number, {}, scope=scope_of(number), reason=None)
                   for number in range(start, min(rows, start + 10_000))]
        _append(db.session.connection(), entries)
        db.session.commit()


def test_bench_stored_record_served_by_lot(benchmark, app, stored_lot):
    response = benchmark(_reader(app).get, f"/records/lots/{stored_lot}/batch-record.pdf")
    assert "X-Content-SHA256" in response.headers
    assert benchmark.stats.stats.median < SERVED_WITHIN_SECONDS


def test_bench_stored_record_served_by_lot_after_years_of_other_lots(benchmark, app, stored_lot):
    with app.app_context():
        _grow_trail(lambda number: f"lot:{10_000 + number % 5_000}", OTHER_LOTS_ROWS)
        db.session.remove()
    response = benchmark(_reader(app).get, f"/records/lots/{stored_lot}/batch-record.pdf")
    assert "X-Content-SHA256" in response.headers
    assert benchmark.stats.stats.median < SERVED_WITHIN_SECONDS
