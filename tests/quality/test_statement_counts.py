"""The QC sheet of a lot reads its results and their signatures in a fixed number of queries, whatever their number."""

from tests.factories import PASSWORD
from tests.statements import SCALES, statements_by_scale

SMALL, LARGE = SCALES


def test_the_qc_sheet_of_a_lot_five_times_larger_takes_as_many_statements(app, database):
    client = app.test_client()

    def qc_sheet(world):
        client.post("/login", data={"username": world.bench.verifier.username, "password": PASSWORD})
        response = client.get(f"/qc/lots/{world.lot.id}")
        assert response.status_code == 200 and "Retained sample counted again" in response.get_data(as_text=True)

    counts = statements_by_scale(qc_sheet)
    assert counts[LARGE] <= counts[SMALL], counts
