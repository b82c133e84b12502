"""Simultaneous requests in this process, each in its own thread, app context and database connection."""

# Several eligible people act at once: only the state of the record may stop all but one of them.
# The figures of every burst are printed (run with -s to see them) and given on failure.

import threading
from collections import Counter

import pytest

from manufacturing.accounts import equal_time
from manufacturing.core.signatures import Meaning
from tests.concurrency import bursts
from tests.concurrency.bursts import Tally, all_at_once, login_figures, make_people, release_figures, signature_count
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.postgres_only

STEP_VERIFICATIONS = 50
RESULT_VERIFICATIONS = 30
RELEASES = 50
WRONG_PASSWORDS = 40
PEOPLE = 5  # accounts per role; each is logged in on several clients at once


@pytest.fixture
def lot(on_postgresql):
    return bursts.lot_at_release()


def _logged_in(app, usernames: list[str], count: int) -> list[tuple[object, str]]:
    """Log in `count` clients one after the other, taking the accounts in turn; return (client, user ID)."""
    clients = []
    for number in range(count):
        username = usernames[number % len(usernames)]
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        clients.append((client, username))
    return clients


def _sign_all_at_once(database, clients, path: str) -> list[object]:
    """Every client posts its own signature to `path` at the same moment; return (status, page) or the error."""

    def signing(client, username):
        def send():
            data = {"sign_username": username, "sign_password": PASSWORD}
            response = client.post(path, data=data, follow_redirects=True)
            return response.status_code, response.get_data(as_text=True)

        return send

    database.session.close()  # the test's own connection holds nothing during the burst
    return all_at_once([signing(client, username) for client, username in clients])


def _report(burst: str, tally: Tally, answers: list[object], **figures) -> str:
    errors = Counter(type(answer).__name__ for answer in answers if isinstance(answer, BaseException))
    line = f"[in-process] {burst}: {tally}, exceptions {dict(errors)}, " + ", ".join(
        f"{name} {value}" for name, value in figures.items())
    print(line)
    return line


def test_fifty_technicians_verifying_one_step_sign_it_once(app, on_postgresql, lot):
    clients = _logged_in(app, make_people("tech.verifier", "TECHNICIAN", PEOPLE), STEP_VERIFICATIONS)
    answers = _sign_all_at_once(on_postgresql, clients, f"/lots/{lot.lot_id}/steps/{lot.step_id}/verify")
    tally = Tally.of(answers, "Step verified and signed.")
    verified = signature_count("step", lot.step_id, Meaning.VERIFIED)
    figures = _report(f"{STEP_VERIFICATIONS} step verifications", tally, answers, verified_signatures=verified)
    assert verified == 1, figures
    assert tally.only_one_accepted(STEP_VERIFICATIONS), figures


def test_thirty_people_verifying_one_qc_result_sign_it_once(app, on_postgresql, lot):
    clients = _logged_in(app, make_people("tech.verifier", "TECHNICIAN", PEOPLE), RESULT_VERIFICATIONS)
    path = f"/qc/lots/{lot.lot_id}/results/{lot.result_id}/verify"
    answers = _sign_all_at_once(on_postgresql, clients, path)
    tally = Tally.of(answers, "Result verified and signed.")
    verified = signature_count("qc_result", lot.result_id, Meaning.VERIFIED)
    figures = _report(f"{RESULT_VERIFICATIONS} QC result verifications", tally, answers,
                      verified_signatures=verified)
    assert verified == 1, figures
    assert tally.only_one_accepted(RESULT_VERIFICATIONS), figures


def test_fifty_qa_releases_of_one_dose_release_it_once(app, on_postgresql, lot):
    bursts.verify_step_beforehand(lot)
    bursts.verify_result_beforehand(lot)
    clients = _logged_in(app, make_people("qa.releaser", "QA", PEOPLE), RELEASES)
    answers = _sign_all_at_once(on_postgresql, clients, f"/release/doses/{lot.dose_id}/release")
    tally = Tally.of(answers, "Dose unit released.")
    released = release_figures(lot)
    figures = _report(f"{RELEASES} releases", tally, answers, **released)
    assert (released["dispositions"], released["released_signatures"]) == (1, 1), figures
    assert (released["certificates_stored"], released["batch_records_stored"]) == (1, 1), figures
    assert tally.only_one_accepted(RELEASES), figures


def _guess_at_once(app, on_postgresql, username: str) -> list:
    clients = [app.test_client() for _ in range(WRONG_PASSWORDS)]

    def guessing(client):
        def send():
            response = client.post("/login", data={"username": username, "password": "Wrong-horse-41"})
            return response.status_code, response.get_data(as_text=True)

        return send

    on_postgresql.session.close()
    return all_at_once([guessing(client) for client in clients])


def _guess_once_more(app, username: str) -> None:
    app.test_client().post("/login", data={"username": username, "password": "Wrong-horse-41"})


def test_forty_wrong_passwords_at_once_check_only_the_free_tries(app, on_postgresql, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_THROTTLE_FIRST_WAIT_SECONDS", 600)  # no wait ends during the burst
    free = app.config["LOGIN_THROTTLE_ACCOUNT_FREE"]
    username = make_user("tech.target", roles=["TECHNICIAN"]).username
    checks = _count_hash_checks(monkeypatch)
    answers = _guess_at_once(app, on_postgresql, username)
    tally = Tally.of(answers, None)
    during_burst = checks["count"]
    account = login_figures(username)
    _guess_once_more(app, username)  # while the account name waits, a further guess checks no hash
    figures = _report(f"{WRONG_PASSWORDS} wrong passwords, throttled", tally, answers, hash_checks=during_burst,
                      hash_checks_while_waiting=checks["count"] - during_burst, **account)
    assert tally.refused == WRONG_PASSWORDS, figures  # no server error, each told the same
    assert during_burst == account["failed_logins"] == account["failure_events"] == free, figures
    assert checks["count"] == during_burst, figures


def test_forty_wrong_passwords_are_each_counted_and_none_checked_past_the_lockout(app, on_postgresql, monkeypatch):
    for name in ("LOGIN_THROTTLE_ACCOUNT_FREE", "LOGIN_THROTTLE_ADDRESS_FREE"):
        monkeypatch.setitem(app.config, name, 1000)  # the lockout alone, as if the throttle were not there
    threshold = app.config["LOCKOUT_THRESHOLD"]
    assert threshold < WRONG_PASSWORDS
    username = make_user("tech.target", roles=["TECHNICIAN"]).username
    checks = _count_hash_checks(monkeypatch)
    answers = _guess_at_once(app, on_postgresql, username)
    tally = Tally.of(answers, None)
    during_burst = checks["count"]
    account = login_figures(username)
    _guess_once_more(app, username)  # once the account is locked, a further guess checks no real hash
    figures = _report(f"{WRONG_PASSWORDS} wrong passwords", tally, answers, hash_checks=during_burst,
                      hash_checks_after_lockout=checks["count"] - during_burst, **account)
    assert tally.refused == WRONG_PASSWORDS, figures  # no server error, each told the same
    assert account["failed_logins"] == during_burst, figures  # every checked password is counted
    assert account["locked"], figures
    assert during_burst == threshold, figures  # no password is checked past the lockout
    assert checks["count"] == during_burst, figures


def _count_hash_checks(monkeypatch) -> dict[str, int]:
    """Count, across threads, the passwords the login checks against an account's own hash.

    The hash a refused login pays for against a dummy (locked, deactivated, unknown) checks nothing and is not counted.
    """
    checks, lock = {"count": 0}, threading.Lock()
    original = equal_time.verify_password

    def counted(password_hash: str, password: str) -> bool:
        if password_hash != equal_time.dummy_hash():
            with lock:
                checks["count"] += 1
        return original(password_hash, password)

    monkeypatch.setattr(equal_time, "verify_password", counted)
    return checks
