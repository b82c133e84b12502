"""Failed logins throttled per account and per client address: refused unchecked, with a bounded trail."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.accounts import equal_time, operations
from manufacturing.accounts.models import LoginThrottle
from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.errors import DomainError
from manufacturing.core.web import settle_refusal
from tests.factories import PASSWORD

ADDRESS = "10.0.0.66"


@pytest.fixture
def checks(monkeypatch):
    """Count the password hashes actually verified."""
    counted = {"hashes": 0}
    real = equal_time.verify_password

    def counting(password_hash, password):
        counted["hashes"] += 1
        return real(password_hash, password)

    monkeypatch.setattr(equal_time, "verify_password", counting)
    return counted


def attempt_login(username: str, password: str = "wrong-password-1", address: str = ADDRESS):
    """Log in through the operation; return the user, or the refusal (settled as a view would)."""
    try:
        return operations.log_in(username, password, address)[0]
    except DomainError as error:
        settle_refusal(error)
        return error


def audit_rows(database, action: str | None = None) -> int:
    query = select(func.count()).select_from(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    return database.session.scalar(query)


def test_after_the_free_tries_even_the_right_password_waits_unchecked(app, database, technician, checks):
    free = app.config["LOGIN_THROTTLE_ACCOUNT_FREE"]
    with clock.frozen(clock.now()):
        for _ in range(free):
            attempt_login(technician.username)
        rows_before, hashes_before = audit_rows(database), checks["hashes"]
        refused = attempt_login(technician.username, PASSWORD)
        assert isinstance(refused, DomainError) and refused.message == operations.LOGIN_REFUSED
        assert checks["hashes"] == hashes_before and audit_rows(database) == rows_before
        clock.advance(timedelta(seconds=app.config["LOGIN_THROTTLE_FIRST_WAIT_SECONDS"] + 1))
        assert attempt_login(technician.username, PASSWORD) == technician
    assert database.session.scalar(select(func.count()).select_from(LoginThrottle)
                                   .where(LoginThrottle.kind == "account")) == 0


def test_each_failure_after_the_free_tries_doubles_the_wait(app, database, technician):
    free, first = app.config["LOGIN_THROTTLE_ACCOUNT_FREE"], app.config["LOGIN_THROTTLE_FIRST_WAIT_SECONDS"]
    waits = []
    with clock.frozen(clock.now()):
        for _ in range(free + 1):
            attempt_login(technician.username, address=None)
            row = database.session.scalars(select(LoginThrottle).where(LoginThrottle.kind == "account")).one()
            if row.blocked_until:
                waits.append((row.blocked_until - clock.now()).total_seconds())
                clock.advance(row.blocked_until - clock.now())
    assert waits == [first, 2 * first]


def test_one_address_trying_many_accounts_is_throttled_and_another_address_is_not(app, database, technician,
                                                                                     checks):
    free = app.config["LOGIN_THROTTLE_ADDRESS_FREE"]
    with clock.frozen(clock.now()):
        for number in range(free):
            attempt_login(f"guess.{number}")
        assert checks["hashes"] == free
        assert isinstance(attempt_login(technician.username, PASSWORD), DomainError)
        assert checks["hashes"] == free
        assert attempt_login(technician.username, PASSWORD, address="10.0.0.7") == technician


def test_a_throttle_is_recorded_once_with_the_count_refused_unchecked(app, database, technician):
    free = app.config["LOGIN_THROTTLE_ACCOUNT_FREE"]
    with clock.frozen(clock.now()):
        for _ in range(free + 25):
            attempt_login(technician.username, address=None)
        assert audit_rows(database, "auth.login_throttled") == 1
        clock.advance(timedelta(seconds=app.config["LOGIN_THROTTLE_FIRST_WAIT_SECONDS"] + 1))
        attempt_login(technician.username, address=None)
    events = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_throttled")
                                      .order_by(AuditEvent.id)).all()
    assert [event.change_map["refused_unchecked_since_last_wait"]["new"] for event in events] == [0, 25]
    assert events[0].scope == f"user:{technician.id}"


def test_a_lockout_is_reached_through_the_waits_and_throttled_attempts_do_not_count(app, database, technician):
    with clock.frozen(clock.now()):
        for _ in range(3 * app.config["LOCKOUT_THRESHOLD"]):
            attempt_login(technician.username)
        assert technician.failed_logins == app.config["LOGIN_THROTTLE_ACCOUNT_FREE"] and not technician.locked


@pytest.mark.parametrize("accounts", ["one account", "many accounts"])
def test_a_spray_of_a_thousand_checks_few_and_writes_a_bounded_trail(app, client, technician, database, checks,
                                                                     accounts):
    username = technician.username
    started = time.perf_counter()
    for number in range(1000):
        name = username if accounts == "one account" else f"sprayed.{number}"
        response = client.post("/login", data={"username": name, "password": f"guess-{number}"},
                               environ_base={"REMOTE_ADDR": ADDRESS})
        assert response.status_code == 422
    seconds = time.perf_counter() - started
    rows = audit_rows(database)
    print(f"\nspray of 1000 at {accounts} from one address: {checks['hashes']} hashes verified, "
          f"{rows} audit rows, {seconds:.1f} s")
    free = app.config["LOGIN_THROTTLE_ACCOUNT_FREE" if accounts == "one account" else "LOGIN_THROTTLE_ADDRESS_FREE"]
    assert checks["hashes"] <= free + 8  # later checks only after waits of 2, 4, 8 ... seconds
    assert rows <= 3 * checks["hashes"] + 2
