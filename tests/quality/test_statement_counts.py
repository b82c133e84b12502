"""The QC sheet of a lot reads its results and their signatures in a fixed number of queries, whatever their number."""

from tests.statements import SCALES, page_statements_by_scale

SMALL, LARGE = SCALES


def test_the_qc_sheet_of_a_lot_five_times_larger_takes_as_many_statements(app, database):
    counts = page_statements_by_scale(app, lambda world: world.bench.verifier,
                                      lambda world: f"/qc/lots/{world.lot.id}", "Retained sample counted again")
    assert counts[LARGE] <= counts[SMALL], counts
