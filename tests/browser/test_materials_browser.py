"""QA releases a material lot with an electronic signature in a real browser (CSRF on).

While the browser works, the test's own database session must hold no transaction (SQLite's
write lock): read what the test needs first, then open the page.
"""

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD
from tests.materials.factories import receive_lot

pytestmark = pytest.mark.browser


def test_qa_releases_a_lot_with_user_id_and_password(new_page, technician, qa_user, database):
    lot_id, username = receive_lot(technician).id, qa_user.username
    page = new_page()
    log_in(page, username, PASSWORD)
    page.goto(f"/materials/lots/{lot_id}")
    page.get_by_text("is in quarantine: QA has not released it.").wait_for()
    release = page.locator("form", has=page.get_by_role("button", name="Release lot"))
    release.get_by_label("Comment (optional)").fill("Certificate of analysis reviewed")
    release.get_by_label("Your user ID").fill(username)
    release.get_by_label("Your password").fill(PASSWORD)
    release.get_by_role("button", name="Release lot").click()
    page.get_by_text("Lot released: it can now be used in the process.").wait_for()
    page.get_by_text("Quinta Qualita (qa.one) · Released · ").wait_for()
    screenshot(page, "material-lot-released")
    assert page.get_by_text("Usable now.").is_visible()
