"""The password policy: long, hard to guess, not breached, not recycled by quick changes."""

from datetime import timedelta

import pytest

from manufacturing.accounts import operations
from manufacturing.accounts.passwords import breached_passwords, policy_problems
from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from tests.factories import PASSWORD


@pytest.mark.parametrize(("password", "why"), [
    ("Password123!", "too easy to guess (this is similar to a commonly used password)"),
    ("Welcome2024!", "too easy to guess (this is similar to a commonly used password)"),
    ("qwertyuiop123", "exposed in data breaches"),
    ("1q2w3e4r5t6y", "exposed in data breaches"),
    ("cleanroom2026", "too easy to guess"),
])
def test_weak_passwords_seen_in_use_are_refused_saying_why(app, password, why):
    with app.app_context():
        problems = policy_problems(password, "tech.one", "Tina Tecnica")
    assert any(why in problem for problem in problems), problems


@pytest.mark.parametrize("password", [PASSWORD, "Brand-new-pass-77", "Dosing-safely-2026", "Demo-5e1d0c2a-9b7f3e41"])
def test_long_uncommon_passwords_pass(app, password):
    with app.app_context():
        assert policy_problems(password, "tech.one", "Tina Tecnica") == []


def test_a_site_word_counts_as_a_common_word(app):
    """Without the site's words zxcvbn would rate "Cleanroom2026!" as strong (score 4)."""
    with app.app_context():
        assert any("too easy" in problem for problem in policy_problems("Cleanroom2026!", "tech.one"))


def test_the_breached_list_is_bundled_with_the_package():
    breached = breached_passwords()
    assert len(breached) > 95_000 and "1q2w3e4r5t6y" in breached and "password" in breached


def test_a_change_to_a_weak_password_is_refused_with_the_reasons(app, database, technician):
    with clock.frozen(technician.password_changed_at + timedelta(days=2)), \
            pytest.raises(DomainError, match=r"^The new password is not accepted: .*exposed in data breaches"):
        operations.change_password(technician, PASSWORD, "1q2w3e4r5t6y")


def test_six_quick_changes_cannot_cycle_the_history(app, database, technician):
    """The history of 5 held only because a password must also be a day old before it is changed."""
    passwords = [f"Stable-orbit-{n}-violet" for n in range(6)]
    start = technician.password_changed_at
    with clock.frozen(start + timedelta(hours=1)), pytest.raises(DomainError, match="less than 24 hours ago"):
        operations.change_password(technician, PASSWORD, passwords[0])
    database.session.rollback()
    current, moment = PASSWORD, start
    for new in passwords:
        moment += timedelta(hours=app.config["PASSWORD_MIN_AGE_HOURS"], minutes=1)
        with clock.frozen(moment):
            operations.change_password(technician, current, new)
            database.session.commit()
        current = new
    with clock.frozen(moment + timedelta(hours=1)), pytest.raises(DomainError, match="changed again from"):
        operations.change_password(technician, current, PASSWORD)


def test_a_password_that_must_be_changed_is_exempt_from_the_minimum_age(database, technician):
    technician.must_change_password = True
    database.session.commit()
    operations.change_password(technician, PASSWORD, "Brand-new-pass-77")
    database.session.commit()
    assert technician.verify_password("Brand-new-pass-77") and not technician.must_change_password
