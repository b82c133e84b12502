"""Every refused login reads the same and takes about the same time; only the trail names the cause."""

import re
import statistics
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from manufacturing.accounts import operations
from manufacturing.accounts.models import LoginThrottle
from manufacturing.config import Config
from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from tests.factories import PASSWORD, make_user

FLASH = re.compile(r'<div class="flash flash-(\w+)">([^<]*)</div>')


def make_locked(username: str):
    user = make_user(username)
    user.locked_at = clock.now()
    operations.db.session.commit()
    return user


def make_deactivated(username: str):
    user = make_user(username)
    user.active = False
    operations.db.session.commit()
    return user


def make_throttled(username: str):
    """An account name whose wait has not ended."""
    now = clock.now()
    operations.db.session.add(LoginThrottle(kind="account", key=username, failures=9, refused=0,
                                            window_started_at=now, last_failed_at=now,
                                            blocked_until=now + timedelta(hours=1)))
    operations.db.session.commit()
    return username


@pytest.fixture
def accounts(database, technician):
    """One user ID per way a login is refused, each given a wrong password (the throttled one the right one)."""
    return {
        "wrong password": (technician.username, "not-the-password"),
        "unknown user": ("nobody.here", "not-the-password"),
        "locked": (make_locked("tech.locked").username, PASSWORD),
        "deactivated": (make_deactivated("tech.gone").username, PASSWORD),
        "throttled": (make_throttled("tech.one.throttled"), "not-the-password"),
    }


def post_login(client, username: str, password: str, address: str = "10.0.0.9"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_every_refusal_gives_the_same_answer(client, accounts):
    answers = {}
    for cause, (username, password) in accounts.items():
        response = post_login(client, username, password)
        answers[cause] = (response.status_code, FLASH.findall(response.get_data(as_text=True)))
    assert all(answer == (422, [("error", operations.LOGIN_REFUSED)]) for answer in answers.values()), answers


def test_the_trail_names_the_real_cause_for_qa(client, database, accounts):
    for username, password in accounts.values():
        post_login(client, username, password)
    events = database.session.scalars(select(AuditEvent).where(
        AuditEvent.action.in_(["auth.login_failed", "auth.login_refused"])).order_by(AuditEvent.id)).all()
    causes = {(event.username, event.change_map["cause"]["new"]) for event in events}
    assert causes == {("tech.one", "wrong password"), ("nobody.here", "unknown user"),
                      ("tech.locked", "locked"), ("tech.gone", "deactivated")}


@pytest.fixture
def production_hashing(app, monkeypatch):
    """Hash with the production argon2 parameters, and let the timing runs pass lockout and throttles."""
    for name in ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM"):
        monkeypatch.setitem(app.config, name, getattr(Config, name))
    for name in ("LOCKOUT_THRESHOLD", "LOGIN_THROTTLE_ACCOUNT_FREE", "LOGIN_THROTTLE_ADDRESS_FREE"):
        monkeypatch.setitem(app.config, name, 1000)


def median_seconds(client, attempts: dict[str, tuple[str, str]], runs: int = 15) -> dict[str, float]:
    """Time each attempt in turn, round after round (a burst of load falls on all alike); return the medians."""
    durations = {cause: [] for cause in attempts}
    for run in range(runs):
        for cause, (username, password) in attempts.items():
            started = time.perf_counter()
            post_login(client, username, password, address=f"10.1.0.{run}")
            durations[cause].append(time.perf_counter() - started)
    return {cause: statistics.median(values) for cause, values in durations.items()}


def test_every_refusal_takes_about_as_long_as_a_wrong_password(client, production_hashing, database):
    attempts = {"wrong password": (make_user("tech.timed").username, "not-the-password"),
                "unknown user": ("nobody.timed", "not-the-password"),
                "locked": (make_locked("tech.timed.locked").username, PASSWORD),
                "deactivated": (make_deactivated("tech.timed.gone").username, PASSWORD),
                "throttled": (make_throttled("tech.timed.throttled"), PASSWORD)}
    median_seconds(client, attempts, runs=2)  # warm up: the dummy hash is made once
    medians = median_seconds(client, attempts)
    print("\nmedian seconds per login answer:", {cause: round(value, 4) for cause, value in medians.items()})
    baseline = medians.pop("wrong password")
    for cause, median in medians.items():
        assert baseline / 2 < median < baseline * 2, (cause, median, baseline)
