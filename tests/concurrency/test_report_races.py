"""Storing the trial report's PDF from many desks at once, on PostgreSQL: one revision, no server error."""

import hashlib

import pytest
from sqlalchemy import select

from manufacturing.extensions import db
from manufacturing.reports.models import StoredTrialReport
from tests.concurrency.bursts import all_at_once, make_people
from tests.dispensing.factories import give
from tests.factories import PASSWORD

pytestmark = pytest.mark.postgres_only
STORES = 10  # each renders a PDF of seconds: ten at once is a busy morning for a trial's report


def _store(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302

    def send():
        response = client.post("/reports/report.pdf")
        return response.status_code, response.data
    return send


def test_ten_people_storing_the_report_at_once_store_one_revision(app, on_postgresql, ward):
    give(ward)
    people = make_people("qa.report", "QA", 5) + make_people("inv.report", "INVESTIGATOR", 5)
    posts = [_store(app, people[number]) for number in range(STORES)]
    db.session.commit()
    db.session.close()
    answers = all_at_once(posts)
    assert not any(isinstance(answer, BaseException) or answer[0] >= 500 for answer in answers), answers
    [revision] = db.session.scalars(select(StoredTrialReport)).all()
    served = [data for status, data in answers if status == 200]
    assert served and all(hashlib.sha256(data).hexdigest() == revision.sha256 for data in served)
    assert all(status in (200, 409) for status, _ in answers)
    refused = [data.decode() for status, data in answers if status == 409]
    assert all("stored meanwhile by someone else" in page for page in refused), refused[:1]
