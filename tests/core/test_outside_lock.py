"""Passwords checked outside SQLite's write lock: others write meanwhile, and what changed meanwhile decides."""

import sqlite3
import threading
import time

import pytest
from sqlalchemy import select

from manufacturing.accounts import equal_time
from manufacturing.accounts.models import User
from manufacturing.accounts.passwords import hash_password
from manufacturing.core import clock, outside_lock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.signatures import signatures_of
from manufacturing.extensions import db
from manufacturing.materials.models import MaterialStatus
from tests.factories import PASSWORD
from tests.materials.factories import receive_lot

WAIT_SECONDS = 10
OTHER_WRITER_TIMEOUT = 1.0  # a writer kept out by the lock gives up after this long


@pytest.fixture
def on_sqlite(database):
    if database.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps the password check under the account's row lock")
    return database


class HeldHash:
    """Hold every check of a password against an account's own hash until released; count the checks."""

    def __init__(self, monkeypatch, during=None):
        self.started, self.released, self.checks = threading.Event(), threading.Event(), 0
        self.during = during
        original = equal_time.verify_password

        def held(password_hash: str, password: str) -> bool:
            if password_hash != equal_time.dummy_hash():
                self.checks += 1
                if self.checks == 1:
                    self.started.set()
                    assert self.released.wait(WAIT_SECONDS), "the hash was never released"
            return original(password_hash, password)

        monkeypatch.setattr(equal_time, "verify_password", held)


def in_thread(send) -> tuple[threading.Thread, dict]:
    """Send a request in a thread of its own (its own app context and connection); its answer lands in the dict."""
    answer: dict = {}

    def run() -> None:
        response = send()
        answer["status"], answer["page"] = response.status_code, response.get_data(as_text=True)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, answer


def write_from_another_connection(path: str) -> float:
    """Take SQLite's write lock on a connection of its own and commit a change; return the seconds it took."""
    started = time.perf_counter()
    connection = sqlite3.connect(path, timeout=OTHER_WRITER_TIMEOUT, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE users SET full_name = full_name WHERE username = 'qa.one'")
        connection.execute("COMMIT")
    finally:
        connection.close()
    return time.perf_counter() - started


def while_hashing(app, held: HeldHash, send) -> tuple[float, dict]:
    """Send the request, write from another connection while its hash is held, release it; return both outcomes."""
    db.session.commit()
    thread, answer = in_thread(send)
    try:
        assert held.started.wait(WAIT_SECONDS), "the request checked no password"
        seconds = write_from_another_connection(db.engine.url.database)
    finally:
        held.released.set()
        thread.join(WAIT_SECONDS)
    assert not thread.is_alive()
    return seconds, answer


def log_in(app, username: str, password: str = PASSWORD):
    return lambda: app.test_client().post("/login", data={"username": username, "password": password})


# The mechanism

def test_outside_a_run_the_work_is_done_where_it_is_met(on_sqlite):
    assert outside_lock.answer("question", lambda: 42) == 42


def test_a_run_does_the_work_with_no_transaction_open_then_runs_the_operation_again(on_sqlite):
    runs, seen = [], []

    def work() -> int:
        seen.append(db.session().in_transaction())
        write_from_another_connection(db.engine.url.database)  # the write lock is free
        return 42

    def operation() -> int:
        db.session.execute(select(User.id)).all()  # the operation has begun its transaction, taking the lock
        runs.append(db.session().in_transaction())
        return outside_lock.answer("question", work)

    assert outside_lock.run(db.session, operation) == 42
    assert runs == [True, True] and seen == [False]


def test_a_question_changed_at_every_run_is_answered_in_place_at_the_last(on_sqlite):
    runs = []

    def operation() -> int:
        runs.append(len(runs))
        return outside_lock.answer(("question", len(runs)), lambda: len(runs))

    assert outside_lock.run(db.session, operation) == outside_lock.RUNS
    assert len(runs) == outside_lock.RUNS


# Login

def test_another_writer_commits_while_a_login_checks_its_password(app, on_sqlite, qa_user, monkeypatch):
    held = HeldHash(monkeypatch)
    seconds, answer = while_hashing(app, held, log_in(app, qa_user.username))
    assert seconds < OTHER_WRITER_TIMEOUT / 2
    assert answer["status"] == 302 and held.checks == 1  # logged in, with one check of the password
    print(f"\nanother writer committed in {seconds * 1000:.1f} ms while a login's hash was held")


def test_with_the_check_inside_the_lock_the_other_writer_is_kept_out(app, on_sqlite, qa_user, monkeypatch):
    """The control: without the mechanism the same writer times out, so the test above shows the difference."""
    monkeypatch.setattr(outside_lock, "run", lambda session, operation: operation())
    held = HeldHash(monkeypatch)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        while_hashing(app, held, log_in(app, qa_user.username))


def test_an_account_locked_while_its_password_is_checked_is_refused(app, on_sqlite, qa_user, monkeypatch):
    held, send = HeldHash(monkeypatch), log_in(app, qa_user.username)
    db.session.commit()  # the test holds no transaction, and so no lock, while the login runs
    thread, answer = in_thread(send)
    assert held.started.wait(WAIT_SECONDS)
    qa_user.locked_at = clock.now()  # an administrator's or another login's doing, committed meanwhile
    db.session.commit()
    held.released.set()
    thread.join(WAIT_SECONDS)
    assert answer["status"] == 422 and held.checks == 1  # the right password, but its answer is not used
    refusals = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_refused")).all()
    assert [event.change_map["cause"]["new"] for event in refusals] == ["locked"]


def test_a_password_changed_while_the_old_one_is_checked_is_checked_anew(app, on_sqlite, qa_user, monkeypatch):
    held, send = HeldHash(monkeypatch), log_in(app, qa_user.username)
    db.session.commit()  # the test holds no transaction, and so no lock, while the login runs
    thread, answer = in_thread(send)
    assert held.started.wait(WAIT_SECONDS)
    qa_user.password_hash = hash_password("Another-horse-77")
    db.session.commit()
    held.released.set()
    thread.join(WAIT_SECONDS)
    assert answer["status"] == 422 and held.checks == 2  # checked again against the new hash, and refused
    db.session.refresh(qa_user)
    assert qa_user.failed_logins == 1


BURST = 12


def test_a_burst_of_wrong_passwords_locks_the_account_and_checks_no_more_than_those_in_flight(app, on_sqlite,
                                                                                             qa_user, monkeypatch):
    """Each answer used is counted; a check in flight when the lock comes is not used, and none begins after it."""
    from tests.concurrency.bursts import all_at_once

    for name in ("LOGIN_THROTTLE_ACCOUNT_FREE", "LOGIN_THROTTLE_ADDRESS_FREE"):
        monkeypatch.setitem(app.config, name, 1000)  # the lockout alone, as if the throttle were not there
    held = HeldHash(monkeypatch)
    held.released.set()
    guesses = [log_in(app, qa_user.username, f"Wrong-horse-{n}") for n in range(BURST)]
    db.session.commit()
    answers = all_at_once(guesses)
    threshold = app.config["LOCKOUT_THRESHOLD"]
    assert all(answer.status_code == 422 for answer in answers)
    db.session.refresh(qa_user)
    assert qa_user.locked and qa_user.failed_logins == threshold
    checks, counted = held.checks, qa_user.failed_logins
    assert threshold <= checks < threshold + BURST
    assert log_in(app, qa_user.username)().status_code == 422  # locked: even the right password is not checked
    assert held.checks == checks
    print(f"\nburst of {BURST} wrong passwords on SQLite: {checks} passwords checked, {counted} counted")


# Signing

def test_another_writer_commits_while_a_signature_checks_its_password(app, on_sqlite, client, login, technician,
                                                                       qa_user, monkeypatch):
    material_lot = receive_lot(technician)
    login(qa_user)
    held = HeldHash(monkeypatch)
    data = {"release-sign_username": qa_user.username, "release-sign_password": PASSWORD,
            "release-comment": "CoA reviewed"}
    path = f"/materials/lots/{material_lot.id}/release"
    seconds, answer = while_hashing(app, held, lambda: client.post(path, data=data))
    assert seconds < OTHER_WRITER_TIMEOUT / 2
    assert answer["status"] == 302 and held.checks == 1
    db.session.refresh(material_lot)
    assert material_lot.status == MaterialStatus.RELEASED and len(signatures_of(material_lot)) == 1
    print(f"\nanother writer committed in {seconds * 1000:.1f} ms while a signature's hash was held")


def test_a_signer_locked_while_the_password_is_checked_does_not_sign(app, on_sqlite, client, login, technician,
                                                                     qa_user, monkeypatch):
    material_lot = receive_lot(technician)
    login(qa_user)
    held, path = HeldHash(monkeypatch), f"/materials/lots/{material_lot.id}/release"
    data = {"release-sign_username": qa_user.username, "release-sign_password": PASSWORD}
    db.session.commit()
    thread, _ = in_thread(lambda: client.post(path, data=data))
    assert held.started.wait(WAIT_SECONDS)
    qa_user.locked_at = clock.now()
    db.session.commit()
    held.released.set()
    thread.join(WAIT_SECONDS)
    db.session.refresh(material_lot)
    assert material_lot.status != MaterialStatus.RELEASED and signatures_of(material_lot) == []
