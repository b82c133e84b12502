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


def test_the_admin_home_lists_accounts_that_need_a_hand_and_calibrations_coming_due(client, login, bench, admin,
                                                                                   database):
    from datetime import timedelta

    from manufacturing.accounts import operations as accounts
    from manufacturing.core import clock
    from manufacturing.core.audit import set_actor
    from manufacturing.core.permissions import Role
    from manufacturing.materials.models import Equipment

    set_actor(database.session, admin.id, admin.username)
    locked = bench.verifier
    locked.locked_at = clock.now()
    accounts.create_user("new.tech", "Nuovo Tecnico", [Role.TECHNICIAN])  # a setup code not used yet
    equipment = database.session.scalars(select(Equipment).order_by(Equipment.id)).first()
    equipment.calibration_due = clock.today() + timedelta(days=3)
    database.session.commit()
    login(admin)
    page = client.get("/").get_data(as_text=True)
    locked_part = page.split("Locked accounts")[1].split("</section>")[0]
    assert locked.username in locked_part and bench.technician.username not in locked_part
    waiting = page.split("Accounts waiting for their password")[1].split("</section>")[0]
    assert "new.tech" in waiting
    assert "No login for 90 days" in page and "new.tech" in page.split("No login for 90 days")[1]
    calibrations = page.split("Equipment calibration due within 30 days")[1].split("</section>")[0]
    assert equipment.code in calibrations
    login(bench.technician)
    assert "Locked accounts" not in client.get("/").get_data(as_text=True)


def test_a_long_queue_is_counted_only_so_far(app, database, client, login, monkeypatch):
    """Past HOME_QUEUE_MOST_COUNTED the badge reads "N+", so that the home page costs the same at any size."""
    monkeypatch.setitem(app.config, "HOME_QUEUE_ROWS", 3)
    monkeypatch.setitem(app.config, "HOME_QUEUE_MOST_COUNTED", 5)
    lots_world(30)
    in_culture = database.session.scalar(select(func.count()).where(Lot.state == LotState.IN_CULTURE))
    assert in_culture > 6
    with app.test_request_context():
        due = culture_days_due()
        assert (len(due.items), due.count, due.counted_to_the_end) == (3, 6, False)
    login(person("technician"))
    culture = client.get("/").get_data(as_text=True).split("Culture days due today")[1].split("</section>")[0]
    assert '<span class="badge badge-grey">5+</span>' in culture and "and at least 3 more" in culture
