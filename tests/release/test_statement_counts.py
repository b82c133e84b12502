"""QA's review of a dose unit reads its lot in a fixed number of queries, whatever the lot's size."""

from manufacturing.processing.doses import doses_of
from tests.statements import SCALES, page_statements_by_scale

SMALL, LARGE = SCALES


def test_the_review_of_a_lot_five_times_larger_takes_as_many_statements(app, database):
    counts = page_statements_by_scale(app, lambda world: world.bench.qa,
                                      lambda world: f"/release/doses/{doses_of(world.lot)[0].id}", "Counter misread")
    assert counts[LARGE] <= counts[SMALL], counts
