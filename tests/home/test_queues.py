"""The home queues: their first rows and how many there are, each lot in culture at its culture day."""

from sqlalchemy import func, select

from manufacturing.home.queues import culture_days_due, technician_queues
from manufacturing.lots.models import Lot, LotState
from manufacturing.processing.models import ProcessStep, StepStatus
from manufacturing.processing.operations import lot_steps
from manufacturing.processing.progress import culture_day_today
from tests.list_worlds import lots_world, person


def test_a_queue_shows_its_first_rows_and_counts_the_rest(app, database, client, login, monkeypatch):
    monkeypatch.setitem(app.config, "HOME_QUEUE_ROWS", 3)
    lots_world(30)
    with app.test_request_context():
        due, steps, _results = technician_queues()
    in_culture = database.session.scalar(select(func.count()).where(Lot.state == LotState.IN_CULTURE))
    unverified = database.session.scalar(select(func.count()).where(ProcessStep.status == StepStatus.PERFORMED))
    assert (len(due.items), due.count, due.more) == (3, in_culture, in_culture - 3) and in_culture > 3
    assert (len(steps.items), steps.count) == (3, unverified) and unverified > 3
    login(person("technician"))
    page = client.get("/").get_data(as_text=True)
    assert f"and {in_culture - 3} more" in page


def test_the_queue_counts_the_culture_day_as_the_lot_page_does(app, database):
    lots_world(3)
    with app.test_request_context():
        [(lot, day)] = culture_days_due().items
        assert day == culture_day_today(lot_steps(lot)) >= 20  # day 0 was twenty days ago
