"""QA's review of a dose unit reads its lot in a fixed number of queries, whatever the lot's size."""

from manufacturing.processing.doses import doses_of
from tests.factories import PASSWORD
from tests.statements import SCALES, statements_by_scale

SMALL, LARGE = SCALES


def test_the_review_of_a_lot_five_times_larger_takes_as_many_statements(app, database):
    client = app.test_client()

    def review_page(world):
        client.post("/login", data={"username": world.bench.qa.username, "password": PASSWORD})
        response = client.get(f"/release/doses/{doses_of(world.lot)[0].id}")
        assert response.status_code == 200 and "Counter misread" in response.get_data(as_text=True)

    counts = statements_by_scale(review_page)
    assert counts[LARGE] <= counts[SMALL], counts
