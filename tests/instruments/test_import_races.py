"""The same export signed by several technicians at once, on PostgreSQL: each sample lands once, nothing partial."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.extensions import db
from manufacturing.instruments.models import InstrumentFile
from manufacturing.processing.models import ProcessStep, StepKind
from tests.concurrency.bursts import Tally, all_at_once, flashes
from tests.factories import PASSWORD
from tests.instruments.factories import carried
from tests.instruments.factories import export_file as _file
from tests.instruments.factories import sample as _sample
from tests.processing.test_views import form_data

pytestmark = pytest.mark.postgres_only
ATTEMPTS = 8


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _burst(app, bench, posts):
    """Each (lot, data) posted by its own logged-in client at the same moment."""
    clients = []
    for lot, data in posts:
        client = app.test_client()
        assert client.post("/login", data={"username": bench.technician.username,
                                           "password": PASSWORD}).status_code == 302
        clients.append((client, f"/lots/{lot.id}/steps/culture-day/import", data))

    def sending(client, url, data):
        def send():
            response = client.post(url, data=data, follow_redirects=True)
            return response.status_code, response.get_data(as_text=True)
        return send

    db.session.commit()
    db.session.close()
    return all_at_once([sending(*entry) for entry in clients])


def _signed(bench, upload, performed_at, row):
    data = form_data(bench, StepKind.CULTURE_DAY, performed_at)
    return data | carried(upload, row)


def test_the_same_file_signed_at_once_on_one_lot_lands_once(app, on_postgresql, bench, lot, counter, exports):
    now = db.session.scalar(select(func.now()))
    performed = now.replace(second=0, microsecond=0) - timedelta(minutes=30)
    upload = _file(exports, _sample(lot.din, performed + timedelta(minutes=5)))
    before = _count(ProcessStep)
    answers = _burst(app, bench, [(lot, _signed(bench, upload, performed, 0))] * ATTEMPTS)
    tally = Tally.of(answers, "recorded from")
    print(tally, {text[:70] for a in answers if not isinstance(a, BaseException) for _, text in flashes(a[1])})
    assert tally.only_one_accepted(ATTEMPTS), tally
    assert _count(InstrumentFile) == 1
    assert _count(ProcessStep) == before + 1


def test_one_run_of_two_lots_signed_at_once_lands_once_on_each(app, on_postgresql, bench, lot, counter, exports):
    second = bench.lot_through(StepKind.CULTURE_DAY0, din="=G12342600012400")
    now = db.session.scalar(select(func.now()))
    performed = now.replace(second=0, microsecond=0) - timedelta(minutes=30)
    upload = _file(exports, _sample(lot.din, performed + timedelta(minutes=5)),
                   _sample(second.din, performed + timedelta(minutes=6)))
    lot_ids = {lot.id, second.id}
    posts = [(lot, _signed(bench, upload, performed, 0)), (second, _signed(bench, upload, performed, 1))] * 4
    answers = _burst(app, bench, posts)
    tally = Tally.of(answers, "recorded from")
    print(tally, {text[:70] for a in answers if not isinstance(a, BaseException) for _, text in flashes(a[1])})
    accepted = [answer for answer in answers if not isinstance(answer, BaseException)
                and any("recorded from" in text for _, text in flashes(answer[1]))]
    assert len(accepted) == 2, tally  # each lot's sample once
    assert _count(InstrumentFile) == 2
    assert {row.lot_id for row in db.session.scalars(select(InstrumentFile))} == lot_ids
    steps_without_file = _count(ProcessStep, ProcessStep.kind == StepKind.CULTURE_DAY, ProcessStep.id.not_in(
        select(InstrumentFile.step_id).where(InstrumentFile.step_id.is_not(None))))
    assert steps_without_file == 0, "a step was stored without its file"
