"""Login, sessions and account administration through the pages."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from manufacturing.accounts import operations
from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.permissions import Role
from tests.factories import PASSWORD, make_user


def setup_code_on(page: str) -> str:
    return re.search(r'data-testid="setup-code">([^<]+)<', page).group(1)


def session_cookie(client) -> str:
    return client.get_cookie("nk_session").value


def test_login_page_shows_the_form(client):
    response = client.get("/login")
    assert response.status_code == 200 and "User ID" in response.get_data(as_text=True)


def test_wrong_password_shows_a_plain_message(client, technician):
    response = client.post("/login", data={"username": technician.username, "password": "nope-nope-nope"})
    assert response.status_code == 422
    assert "User ID or password not accepted." in response.get_data(as_text=True)


def test_login_then_home_page(client, login, technician):
    login(technician)
    response = client.get("/")
    assert response.status_code == 200 and technician.full_name in response.get_data(as_text=True)


def test_session_identifier_changes_at_login(client, login, technician):
    client.get("/login")
    before = client.get_cookie("nk_session")
    login(technician)
    first = session_cookie(client)
    client.post("/logout")
    login(technician)
    assert session_cookie(client) != first
    assert before is None or before.value != first


def test_cookie_saved_before_logout_is_refused_after(app, client, login, technician):
    login(technician)
    saved = session_cookie(client)
    assert client.get("/").status_code == 200
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie("nk_session", saved)
    response = replay.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_idle_session_times_out(app, client, login, technician):
    login(technician)
    later = clock.now() + timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] + 1)
    with clock.frozen(later):
        response = client.get("/")
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "period without activity" in page


def test_activity_keeps_the_session_alive(app, client, login, technician):
    login(technician)
    start = clock.now()
    with clock.frozen(start):
        for step in range(1, 4):
            clock.advance(timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] - 1))
            assert client.get("/").status_code == 200, step


def test_deactivation_ends_a_live_session(app, client, login, admin, technician, database):
    login(technician)
    from manufacturing.accounts import operations

    operations.deactivate(admin, technician, "Contract ended")
    database.session.commit()
    assert client.get("/").status_code == 302


def test_first_login_forces_a_password_change(client, database):
    user = make_user("tech.new", must_change=True)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert client.get("/").headers["Location"] == "/account/password"
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "Fresh-start-2026", "confirm": "Fresh-start-2026"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("fixture", ["technician", "qa_user", "pharmacist"])
def test_only_admins_see_user_administration(request, client, login, fixture):
    login(request.getfixturevalue(fixture))
    assert client.get("/admin/users/").status_code == 403


@pytest.mark.parametrize(("fixture", "status"), [("technician", 403), ("pharmacist", 403), ("qa_user", 200),
                                                  ("admin", 200)])
def test_audit_trail_is_for_qa_and_admin(request, client, login, fixture, status):
    login(request.getfixturevalue(fixture))
    assert client.get("/audit/").status_code == status


def test_admin_creates_an_account_with_a_setup_code_not_a_password(client, login, admin, database):
    login(admin)
    response = client.post("/admin/users/new", data={"username": "qa.new", "full_name": "Nuova Qualita",
                                                     "roles": ["QA"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "shown only now" in page
    code = setup_code_on(page)
    user = database.session.scalars(select(User).where(User.username == "qa.new")).one()
    assert user.awaiting_setup and user.setup_code_hash != code and code not in user.setup_code_hash
    assert user.setup_code_hash == operations.setup_code_digest(code)


def test_admin_page_refuses_an_administrator_with_a_gmp_role_and_says_why(client, login, admin, database):
    login(admin)
    response = client.post("/admin/users/new", data={"username": "it.qa", "full_name": "Doppio Ruolo",
                                                     "roles": ["ADMIN", "QA"]})
    assert "cannot be combined with Quality assurance" in response.get_data(as_text=True)
    assert database.session.scalars(select(User).where(User.username == "it.qa")).first() is None


def test_admin_reset_shows_a_setup_code_that_the_user_redeems(client, login, admin, technician, database):
    login(admin)
    page = client.post(f"/admin/users/{technician.id}/reset-password",
                       data={"reason": "Forgot password"}).get_data(as_text=True)
    code = setup_code_on(page)
    assert not technician.verify_password(PASSWORD) and technician.awaiting_setup
    client.post("/logout")
    assert client.get("/account/setup").status_code == 200
    response = client.post("/account/setup", data={"username": technician.username, "setup_code": code.lower(),
                                                   "new_password": "Fresh-start-2026", "confirm": "Fresh-start-2026"})
    assert response.status_code == 302 and response.location.endswith("/login")
    database.session.expire_all()
    assert technician.verify_password("Fresh-start-2026") and not technician.must_change_password
    login(technician, "Fresh-start-2026")


def test_setup_page_refuses_a_wrong_code_with_the_uniform_message(client, technician):
    response = client.post("/account/setup", data={"username": technician.username, "setup_code": "ABCDE",
                                                   "new_password": "Fresh-start-2026", "confirm": "Fresh-start-2026"})
    assert "User ID or setup code not accepted." in response.get_data(as_text=True)
    assert technician.failed_logins == 1


def test_admin_deactivation_without_reason_changes_nothing(client, login, admin, technician):
    login(admin)
    response = client.post(f"/admin/users/{technician.id}/deactivate", data={"reason": ""},
                           follow_redirects=True)
    assert "Reason for the change" in response.get_data(as_text=True)
    assert technician.active


def test_audit_trail_filters_by_user_and_record(client, login, qa_user, technician):
    login(qa_user)
    page = client.get("/audit/", query_string={"user": qa_user.username}).get_data(as_text=True)
    assert "auth.login" in page and "user.created" not in page
    page = client.get("/audit/", query_string={"entity": "user", "entity_id": technician.id}).get_data(as_text=True)
    assert "user.created" in page and "Tina Tecnica" in page and "auth.login" not in page


def test_audit_trail_date_filter_uses_local_dates(client, login, qa_user):
    login(qa_user)
    today = clock.today()
    page = client.get("/audit/", query_string={"date_from": today.isoformat()}).get_data(as_text=True)
    assert "auth.login" in page
    yesterday = (today - timedelta(days=1)).isoformat()
    page = client.get("/audit/", query_string={"date_to": yesterday}).get_data(as_text=True)
    assert "No events match." in page


def test_cli_first_administrator_types_their_own_password(app, database):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "it.first", "--name", "Clara Cli", "--role", "admin"],
                           input="Dosing-safely-2026\n")
    assert result.exit_code == 0, result.output
    user = database.session.scalars(select(User).where(User.username == "it.first")).one()
    assert user.verify_password("Dosing-safely-2026") and not user.awaiting_setup
    assert user.role_set == {Role.ADMIN}


def test_cli_gives_later_accounts_a_setup_code_and_asks_no_password(app, database, admin):
    result = app.test_cli_runner().invoke(args=["users", "create", "qa.cli", "--name", "Clara Cli", "--role", "qa"],
                                          input="Dosing-safely-2026\n")
    assert result.exit_code == 0, result.output
    user = database.session.scalars(select(User).where(User.username == "qa.cli")).one()
    assert user.awaiting_setup and not user.verify_password("Dosing-safely-2026")
    code = re.search(r"shown only now: (\S+)", result.output).group(1)
    assert user.setup_code_hash == operations.setup_code_digest(code)


def test_cli_refuses_an_administrator_with_a_gmp_role(app, database):
    result = app.test_cli_runner().invoke(args=["users", "create", "it.qa", "--name", "Doppio", "--role", "qa",
                                                "--role", "admin"], input="Dosing-safely-2026\n")
    assert result.exit_code != 0 and "IT work only" in result.output


def test_cli_refuses_a_weak_first_password_with_a_message(app, database):
    result = app.test_cli_runner().invoke(args=["users", "create", "it.weak", "--name", "W", "--role", "admin"],
                                          input="short\n")
    assert result.exit_code != 0 and "at least 12 characters" in result.output


def test_a_session_ends_after_its_absolute_lifetime_whatever_the_activity(app, client, login, technician):
    login(technician)
    step = timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"] - 1)
    limit = clock.now() + timedelta(hours=app.config["SESSION_ABSOLUTE_HOURS"])
    with clock.frozen(clock.now()):
        while clock.now() + step < limit:
            clock.advance(step)
            assert client.get("/").status_code == 200, clock.now()
        clock.advance(step)
        response = client.get("/")
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"limit of {app.config['SESSION_ABSOLUTE_HOURS']} hours" in page


def lock_by_wrong_passwords(app, database, user) -> None:
    from manufacturing.accounts import operations
    from manufacturing.core.errors import DomainError
    from manufacturing.core.web import settle_refusal

    with clock.frozen(clock.now()):
        for _ in range(app.config["LOCKOUT_THRESHOLD"]):
            try:
                operations.log_in(user.username, "not-the-password", "10.0.0.5")
            except DomainError as error:
                settle_refusal(error)
            clock.advance(timedelta(seconds=app.config["LOGIN_THROTTLE_MAX_WAIT_SECONDS"] + 1))
    assert user.locked


def test_cli_unlocks_an_account_with_a_reason_and_clears_its_throttle(app, client, database, technician):
    from manufacturing.accounts.models import LoginThrottle
    from manufacturing.core.audit import AuditEvent

    lock_by_wrong_passwords(app, database, technician)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "unlock", technician.username, "--reason", "Identity checked in person"])
    assert result.exit_code == 0, result.output
    database.session.expire_all()
    assert not technician.locked and technician.failed_logins == 0
    event = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.unlocked")).one()
    assert event.reason == "Identity checked in person" and event.username.startswith("cli:")
    assert database.session.scalar(select(LoginThrottle).where(LoginThrottle.kind == "account")) is None
    response = client.post("/login", data={"username": technician.username, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize(("arguments", "message"), [
    (["tech.one", "--reason", " "], "Give a reason"),
    (["nobody.here", "--reason", "Checked"], "no account nobody.here"),
    (["tech.one", "--reason", "Checked"], "not locked"),
])
def test_cli_unlock_refusals(app, technician, arguments, message):
    result = app.test_cli_runner().invoke(args=["users", "unlock", *arguments])
    assert result.exit_code != 0 and message in result.output


def test_behind_a_proxy_the_client_address_is_the_forwarded_one(app, database, technician):
    from manufacturing import create_app
    from manufacturing.accounts.models import AuthSession

    proxied = create_app({**app.config, "PROXIES_IN_FRONT": 1})
    username = technician.username
    database.session.commit()
    proxied.test_client().post("/login", data={"username": username, "password": PASSWORD},
                               headers={"X-Forwarded-For": "203.0.113.7"}, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert database.session.scalars(select(AuthSession)).one().remote_addr == "203.0.113.7"


def test_a_role_box_is_not_required_on_its_own_but_one_role_is(client, login, admin):
    login(admin)
    form = client.get("/admin/users/new").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="roles"[^>]*>', form)
    assert len(boxes) == len(Role) == 5 and not any("required" in box for box in boxes)
    page = client.post("/admin/users/new", data={"username": "no.role", "full_name": "Senza Ruolo"})
    assert "Choose at least one role." in page.get_data(as_text=True)
