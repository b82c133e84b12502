"""Taking a subject off study while others act, on PostgreSQL: one stop, and no unit issued after it."""

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.signatures import Meaning
from manufacturing.dispensing.models import BedsideCheck, Issue
from manufacturing.extensions import db
from manufacturing.patients.models import StudyStop
from tests.concurrency.bursts import Tally, all_at_once, flashes, make_people, signature_count
from tests.dispensing.factories import done, issue
from tests.dispensing.test_views import bedside_form, issue_form
from tests.factories import PASSWORD

pytestmark = pytest.mark.postgres_only
STOPS = 50


def _client(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def _stop_form(username: str) -> dict:
    return {"reason": "TOXICITY", "stopped_on": clock.today().isoformat(), "detail": "Grade 3 CRS after infusion 1",
            "sign_username": username, "sign_password": PASSWORD}


def _poster(client, path: str, data: dict):
    def send():
        response = client.post(path, data=data, follow_redirects=True)
        return response.status_code, response.get_data(as_text=True)
    return send


def _at_once(posts):
    db.session.commit()
    db.session.close()
    return all_at_once(posts)


def test_fifty_people_taking_one_subject_off_study_stop_it_once(app, on_postgresql, ward):
    people = make_people("pharm.stop", "PHARMACY", 4) + make_people("qa.stop", "QA", 2)
    path = f"/subjects/{ward.bench.subject.id}/off-study"
    posts = [_poster(_client(app, people[n % len(people)]), path, _stop_form(people[n % len(people)]))
             for n in range(STOPS)]
    tally = Tally.of(_at_once(posts), "The subject is off study")
    stops = db.session.scalar(select(func.count()).select_from(StudyStop))
    assert (stops, signature_count("study_stop", None, Meaning.OFF_STUDY)) == (1, 1), tally
    assert tally.only_one_accepted(STOPS), tally


def test_a_stop_and_issues_at_once_leave_no_unit_issued_after_the_stop(app, on_postgresql, ward):
    """Whichever commits first, an issue is either wholly before the stop or refused."""
    pharmacist = ward.pharmacist.username
    stop = _poster(_client(app, pharmacist), f"/subjects/{ward.bench.subject.id}/off-study", _stop_form(pharmacist))
    issues = [_poster(_client(app, pharmacist), f"/pharmacy/doses/{ward.fresh.id}/issue", issue_form(ward))
              for _ in range(5)]
    answers = _at_once([stop, *issues])
    assert not any(isinstance(answer, BaseException) or answer[0] >= 500 for answer in answers), answers
    recorded = db.session.scalars(select(StudyStop)).one()
    issued = db.session.scalars(select(Issue)).all()
    assert len(issued) <= 1
    assert all(issue.issued_at < recorded.recorded_at for issue in issued), (issued, recorded.recorded_at)
    refusals = [text for answer in answers[1:] for category, text in flashes(answer[1]) if category == "error"]
    assert len(refusals) == len(issues) - len(issued), refusals


def test_a_stop_and_bedside_checks_at_once_leave_no_check_after_the_stop(app, on_postgresql, ward):
    done(ward.pharmacist, issue, ward)
    pharmacist = ward.pharmacist.username
    stop = _poster(_client(app, pharmacist), f"/subjects/{ward.bench.subject.id}/off-study", _stop_form(pharmacist))
    checks = [_poster(_client(app, pharmacist), f"/pharmacy/doses/{ward.fresh.id}/bedside-check", bedside_form(ward))
              for _ in range(5)]
    answers = _at_once([stop, *checks])
    assert not any(isinstance(answer, BaseException) or answer[0] >= 500 for answer in answers), answers
    recorded = db.session.scalars(select(StudyStop)).one()
    checked = db.session.scalars(select(BedsideCheck)).all()
    assert all(check.checked_at < recorded.recorded_at for check in checked), (checked, recorded.recorded_at)
