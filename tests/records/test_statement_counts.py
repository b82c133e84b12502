"""The lot page and the batch record's data read a lot in a fixed number of queries, whatever its size."""

from manufacturing.lots.models import Lot
from manufacturing.records.batch_record import build_batch_record
from tests.statements import SCALES, page_statements_by_scale, statements_by_scale

SMALL, LARGE = SCALES


def test_the_lot_page_reads_a_lot_five_times_larger_in_as_many_statements(app, database):
    counts = page_statements_by_scale(app, lambda world: world.bench.qa, lambda world: f"/lots/{world.lot.id}")
    assert counts[LARGE] <= counts[SMALL], counts


def test_the_batch_record_data_of_a_lot_five_times_larger_takes_as_many_statements(app, database):
    def batch_record(world):
        with app.test_request_context():
            data = build_batch_record(database.session.get(Lot, world.lot.id))
        assert len(data.steps) > 3 * world.scale  # its culture days, and the other steps
        database.session.remove()

    counts = statements_by_scale(batch_record)
    assert counts[LARGE] <= counts[SMALL], counts
