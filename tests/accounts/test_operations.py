"""Account rules, tested directly on the operations."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from manufacturing.accounts import operations
from manufacturing.accounts.models import AuthSession
from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.errors import DomainError, NotPermitted, ReasonRequired
from manufacturing.core.permissions import Role
from manufacturing.core.web import settle_refusal
from tests.factories import PASSWORD, make_user


def actions(database) -> list[str]:
    return database.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def failed_login(database, username: str, password: str = "wrong-password-1",
                 remote_addr: str | None = None) -> DomainError:
    with pytest.raises(DomainError) as refused:
        operations.log_in(username, password, remote_addr)
    settle_refusal(refused.value)
    return refused.value


def failed_logins_past_the_waits(app, database, username: str, count: int) -> None:
    """Give wrong passwords one after another, each after the wait the last one imposed."""
    with clock.frozen(clock.now()):
        for _ in range(count):
            assert failed_login(database, username).message == operations.LOGIN_REFUSED
            clock.advance(timedelta(seconds=app.config["LOGIN_THROTTLE_MAX_WAIT_SECONDS"] + 1))


@pytest.mark.parametrize(("username", "message"), [
    ("ab", "3 to 40 characters"), ("Has Space", "3 to 40 characters"), ("9lives", "starting with a letter"),
])
def test_user_id_rules(database, username, message):
    with pytest.raises(DomainError, match=message):
        operations.create_user(username, "Some Body", [Role.QA])


def test_user_ids_are_unique_and_never_reused(database, technician):
    with pytest.raises(DomainError, match="already taken"):
        operations.create_user(technician.username.upper(), "Other Person", [Role.QA])


@pytest.mark.parametrize(("password", "problem"), [
    ("short-1", "at least 12 characters"),
    ("my-new.user-password", "do not include your user ID"),
    ("aaaaaaaaaaaaaaaa", "5 different characters"),
    ("password1234", "exposed in data breaches"),
])
def test_password_policy_at_set_up(database, password, problem):
    _user, code = operations.create_user("new.user", "New User", [Role.QA])
    with pytest.raises(DomainError, match=problem):
        operations.set_up_password("new.user", code, password)


def test_login_starts_a_session_and_is_audited(database, technician):
    user, token = operations.log_in(technician.username, PASSWORD, "10.0.0.8")
    database.session.commit()
    assert user.id == technician.id and len(token) > 30
    assert database.session.scalars(select(AuthSession)).one().remote_addr == "10.0.0.8"
    assert "auth.login" in actions(database)


def test_five_wrong_passwords_lock_the_account_and_show_in_the_trail(app, database, technician):
    failed_logins_past_the_waits(app, database, technician.username, app.config["LOCKOUT_THRESHOLD"])
    assert technician.locked
    trail = actions(database)
    assert trail.count("auth.login_failed") == 5 and "auth.locked" in trail
    error = failed_login(database, technician.username, PASSWORD)
    assert error.message == operations.LOGIN_REFUSED


def test_a_successful_login_resets_the_count(database, technician):
    failed_login(database, technician.username)
    operations.log_in(technician.username, PASSWORD)
    assert technician.failed_logins == 0


def test_unknown_user_is_refused_like_a_wrong_password_and_recorded(database):
    error = failed_login(database, "nobody")
    assert error.message == operations.LOGIN_REFUSED
    event = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).one()
    assert event.username == "nobody"


def test_deactivated_user_cannot_log_in_and_sessions_end(database, admin, technician):
    operations.log_in(technician.username, PASSWORD)
    operations.deactivate(admin, technician, "Left the company")
    database.session.commit()
    assert all(s.ended_at is not None for s in database.session.scalars(select(AuthSession)))
    assert failed_login(database, technician.username, PASSWORD).message == operations.LOGIN_REFUSED


def test_admin_actions_need_a_reason_and_another_admin(database, admin, technician):
    with pytest.raises(ReasonRequired):
        operations.deactivate(admin, technician, " ")
    with pytest.raises(NotPermitted, match="own account"):
        operations.set_roles(admin, admin, [Role.QA], "Promotion")
    with pytest.raises(NotPermitted):
        operations.deactivate(technician, admin, "Coup")


def test_role_change_is_audited_with_its_reason(database, admin, technician):
    operations.set_roles(admin, technician, [Role.TECHNICIAN, Role.QA], "Trained for QA review")
    database.session.commit()
    query = select(AuditEvent).where(AuditEvent.action == "user_role.created").order_by(AuditEvent.id)
    event = database.session.scalars(query).all()[-1]
    assert event.reason == "Trained for QA review" and '"QA"' in event.changes
    assert technician.role_set == {Role.TECHNICIAN, Role.QA}


def test_change_password_checks_current_policy_and_history(app, database, technician):
    later = technician.password_changed_at + timedelta(hours=app.config["PASSWORD_MIN_AGE_HOURS"])
    with clock.frozen(later):
        with pytest.raises(DomainError, match="current password"):
            operations.change_password(technician, "not-it", "Brand-new-pass-77")
        database.session.rollback()
        with pytest.raises(DomainError, match="used recently"):
            operations.change_password(technician, PASSWORD, PASSWORD)
        operations.change_password(technician, PASSWORD, "Brand-new-pass-77")
        database.session.commit()
    assert technician.verify_password("Brand-new-pass-77") and not technician.must_change_password
    with clock.frozen(later + timedelta(days=2)), pytest.raises(DomainError, match="used recently"):
        operations.change_password(technician, "Brand-new-pass-77", PASSWORD)


def test_unlock(database, app, admin, technician):
    failed_logins_past_the_waits(app, database, technician.username, app.config["LOCKOUT_THRESHOLD"])
    operations.unlock(admin, technician, "Identity confirmed by phone")
    database.session.commit()
    assert not technician.locked and technician.failed_logins == 0
    assert operations.log_in(technician.username, PASSWORD)[0] == technician


def test_password_expires_after_the_configured_age(app, database):
    user = make_user("tech.old")
    with clock.frozen(user.password_changed_at + timedelta(days=app.config["PASSWORD_MAX_AGE_DAYS"] + 1)):
        assert user.password_change_due
