"""Login, forced password change, logout, lockout and a reset by setup code in a real browser.

While the browser works, the test's own database session must hold no transaction (SQLite's
write lock): read what the test needs first, then open the page.
"""

from datetime import timedelta

import pytest

from manufacturing.core import clock
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_login_and_logout(new_page, technician):
    username, full_name = technician.username, technician.full_name
    page = new_page()
    log_in(page, username, PASSWORD)
    page.get_by_text(f"Good day, {full_name}").wait_for()
    screenshot(page, "home-technician")
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("heading", name="Log in").wait_for()
    page.goto("/")
    assert "/login" in page.url


def test_first_login_forces_a_password_change(new_page, database):
    username = make_user("tech.first", full_name="Primo Accesso", must_change=True).username
    page = new_page()
    log_in(page, username, PASSWORD)
    page.get_by_text("You must choose a new password").wait_for()
    page.goto("/")
    assert page.url.endswith("/account/password")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("New password again").fill("short")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("use at least 12 characters").wait_for()
    screenshot(page, "password-refused")
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("Cell-culture-day-14")
    page.get_by_label("New password again").fill("Cell-culture-day-14")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Your password was changed.").wait_for()
    page.get_by_text("Good day, Primo Accesso").wait_for()


def test_five_wrong_passwords_lock_the_account(app, new_page, technician, database):
    username = technician.username
    page = new_page()
    with clock.frozen(clock.now()):
        for _ in range(app.config["LOCKOUT_THRESHOLD"]):
            log_in(page, username, "not-the-password")
            page.get_by_text("User ID or password not accepted.").wait_for()
            clock.advance(timedelta(seconds=app.config["LOGIN_THROTTLE_MAX_WAIT_SECONDS"] + 1))
        log_in(page, username, PASSWORD)
        page.get_by_text("User ID or password not accepted.").wait_for()
    screenshot(page, "login-locked")
    database.session.refresh(technician)
    assert technician.locked


def test_a_reset_hands_over_a_setup_code_and_the_person_chooses_the_password(new_page, admin, technician):
    admin_name, user_id, username, full_name = admin.username, technician.id, technician.username, technician.full_name
    page = new_page()
    log_in(page, admin_name, PASSWORD)
    page.goto(f"/admin/users/{user_id}")
    reset = page.locator("section", has=page.get_by_role("heading", name="Reset password"))
    reset.locator("textarea").fill("Forgot the password; identity checked by phone")
    reset.get_by_role("button", name="Reset password").click()
    code = page.get_by_test_id("setup-code").inner_text()
    screenshot(page, "setup-code-shown-once")
    page.get_by_role("button", name="Log out").click()
    page.goto("/account/setup")
    page.get_by_label("User ID").fill(username)
    page.get_by_label("Setup code").fill(code)
    page.get_by_label("New password", exact=True).fill("Welcome2024!")
    page.get_by_label("New password again").fill("Welcome2024!")
    page.get_by_role("button", name="Set my password").click()
    page.get_by_text("too easy to guess").wait_for()
    screenshot(page, "setup-weak-password-refused")
    page.get_by_label("New password", exact=True).fill("Cell-culture-day-14")
    page.get_by_label("New password again").fill("Cell-culture-day-14")
    page.get_by_role("button", name="Set my password").click()
    page.get_by_text("Your password is set. Log in with it.").wait_for()
    log_in(page, username, "Cell-culture-day-14")
    page.get_by_text(f"Good day, {full_name}").wait_for()
