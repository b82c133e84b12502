"""One-time setup codes: the administrator hands over a code, never a password; only the person sets it."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from manufacturing.accounts import operations
from manufacturing.accounts.models import AuthSession
from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent, set_actor
from manufacturing.core.errors import DomainError
from manufacturing.core.permissions import Role
from manufacturing.core.web import settle_refusal
from tests.factories import PASSWORD

NEW_PASSWORD = "Fresh-start-2026"


def refused(operation, *args) -> DomainError:
    with pytest.raises(DomainError) as refusal:
        operation(*args)
    settle_refusal(refusal.value)
    return refusal.value


def events(database, action: str) -> list[AuditEvent]:
    return database.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_a_new_account_has_no_password_only_a_code_stored_as_a_hash(app, database):
    with clock.frozen(clock.now()):
        user, code = operations.create_user("qa.new", "Nuova Qualita", [Role.QA])
    database.session.commit()
    assert len(code.replace("-", "")) == 25 and user.awaiting_setup and user.password_hash == ""
    assert user.setup_code_hash == operations.setup_code_digest(code) and code not in user.setup_code_hash
    hours = app.config["SETUP_CODE_HOURS"]
    assert user.setup_code_expires_at == user.created_at + timedelta(hours=hours)
    trail = " ".join(event.changes or "" for event in database.session.scalars(select(AuditEvent)))
    assert code not in trail and user.setup_code_hash not in trail
    assert refused(operations.log_in, "qa.new", code).message == operations.LOGIN_REFUSED


def test_codes_are_random(database):
    codes = {operations.create_user(f"qa.n{index}", f"Nuova Qualita {index}", [Role.QA])[1] for index in range(5)}
    assert len(codes) == 5


def test_the_person_sets_the_password_with_the_code_once(database):
    user, code = operations.create_user("qa.new", "Nuova Qualita", [Role.QA])
    database.session.commit()
    operations.set_up_password("QA.new ", code.lower().replace("-", " "), NEW_PASSWORD)
    database.session.commit()
    assert user.verify_password(NEW_PASSWORD) and not user.must_change_password and not user.awaiting_setup
    assert user.setup_code_hash is None and user.setup_code_expires_at is None
    assert events(database, "auth.password_set_up")[0].username == "qa.new"
    assert refused(operations.set_up_password, "qa.new", code, "Another-fresh-start-2027").message == \
        operations.SETUP_REFUSED
    assert operations.log_in("qa.new", NEW_PASSWORD)[0] == user


def test_an_expired_code_is_refused_and_names_the_expiry(app, database):
    user, code = operations.create_user("qa.new", "Nuova Qualita", [Role.QA])
    database.session.commit()
    with clock.frozen(user.setup_code_expires_at + timedelta(minutes=1)):
        error = refused(operations.set_up_password, "qa.new", code, NEW_PASSWORD)
    assert "setup code expired" in error.message and user.awaiting_setup


def test_the_new_password_must_meet_the_policy(database):
    _user, code = operations.create_user("qa.new", "Nuova Qualita", [Role.QA])
    database.session.commit()
    assert "too easy to guess" in refused(operations.set_up_password, "qa.new", code, "cleanroom2026").message
    assert operations.set_up_password("qa.new", code, NEW_PASSWORD)  # the code was not used up


def test_wrong_codes_count_toward_lockout(app, database, technician, admin):
    operations.reset_password(admin, technician, "Forgot password")
    database.session.commit()
    for _ in range(app.config["LOCKOUT_THRESHOLD"]):
        assert refused(operations.set_up_password, technician.username, "AAAAA-BBBBB", NEW_PASSWORD).message == \
            operations.SETUP_REFUSED
    assert technician.locked and len(events(database, "auth.setup_code_failed")) == 5
    locked = refused(operations.set_up_password, technician.username, "AAAAA-BBBBB", NEW_PASSWORD).message
    assert locked == operations.SETUP_REFUSED  # a locked account answers as an unknown one: nobody learns who exists


def test_an_unknown_user_is_refused_like_a_wrong_code_and_recorded(database):
    assert refused(operations.set_up_password, "nobody", "AAAAA", NEW_PASSWORD).message == operations.SETUP_REFUSED
    assert events(database, "auth.setup_code_failed")[0].username == "nobody"


def test_a_reset_revokes_password_and_sessions_and_the_admin_learns_no_password(database, admin, technician):
    operations.log_in(technician.username, PASSWORD)
    database.session.commit()
    set_actor(database.session, admin.id, admin.username)
    code = operations.reset_password(admin, technician, "Forgot password")
    database.session.commit()
    assert not technician.verify_password(PASSWORD) and not technician.verify_password(code)
    assert all(session.ended_at is not None for session in database.session.scalars(select(AuthSession)))
    assert refused(operations.log_in, technician.username, PASSWORD).message == operations.LOGIN_REFUSED
    reset = events(database, "auth.password_reset")[0]
    assert reset.username == admin.username and "expires_at" in json.loads(reset.changes)
    operations.set_up_password(technician.username, code, NEW_PASSWORD)
    database.session.commit()
    assert operations.log_in(technician.username, NEW_PASSWORD)[0] == technician


def test_a_reset_code_is_exempt_from_the_minimum_age_but_not_from_the_history(database, admin, technician):
    code = operations.reset_password(admin, technician, "Password may be known to a colleague")
    database.session.commit()
    assert "used recently" in refused(operations.set_up_password, technician.username, code, PASSWORD).message
    operations.set_up_password(technician.username, code, NEW_PASSWORD)  # minutes after the last change
    database.session.commit()
    assert technician.verify_password(NEW_PASSWORD)


def test_a_new_reset_replaces_the_earlier_code(database, admin, technician):
    first = operations.reset_password(admin, technician, "Forgot password")
    second = operations.reset_password(admin, technician, "The first code was lost")
    database.session.commit()
    assert refused(operations.set_up_password, technician.username, first, NEW_PASSWORD).message == \
        operations.SETUP_REFUSED
    assert operations.set_up_password(technician.username, second, NEW_PASSWORD) == technician
