"""The main pages run under the Content Security Policy without a single violation, and cannot be framed."""

import pytest

from manufacturing.extensions import db
from tests.browser.conftest import log_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser

LIST_PAGES = ["/", "/account/password", "/admin/users/", "/audit/", "/specs/", "/subjects/", "/subjects/new",
              "/materials/", "/materials/lots/new", "/lots/", "/lots/receive", "/deviations/", "/pharmacy/",
              "/release/", "/release/alerts/"]
# Report every violation to the page itself, whether or not the browser also logs it.
LISTEN = """window.__violations = [];
document.addEventListener('securitypolicyviolation', function (event) {
  window.__violations.push(event.violatedDirective + ' ' + event.blockedURI);
});"""


def watched_page(new_page):
    page = new_page()
    page.add_init_script(LISTEN)
    page.messages = []
    page.on("console", lambda message: page.messages.append(message.text))
    return page


def violations_on(page, path: str) -> list[str]:
    page.goto(path)
    page.wait_for_load_state("load")
    found = [f"{path}: {text}" for text in page.evaluate("window.__violations")]
    found += [f"{path}: {text}" for text in page.messages if "Content Security Policy" in text]
    page.messages.clear()
    return found


def _visit(page, username: str, paths: list[str]) -> list[str]:
    db.session.commit()  # the test's own transaction ends: SQLite's write lock is free for the pages
    found = violations_on(page, "/login")
    log_in(page, username, PASSWORD)
    page.get_by_text("Good day").wait_for()
    for path in paths:
        found += violations_on(page, path)
    return found


def test_main_pages_raise_no_policy_violation(new_page, ward, database):
    """Every main page of GMP work, seen by a person with the three GMP roles."""
    everyone = make_user("all.roles", roles=["TECHNICIAN", "QA", "PHARMACY"], full_name="Omnia Ruoli")
    pages = [path for path in LIST_PAGES if not path.startswith("/admin/")]
    pages += [f"/lots/{ward.lot.id}", f"/pharmacy/doses/{ward.fresh.id}", f"/release/doses/{ward.fresh.id}",
              f"/subjects/{ward.bench.subject.id}"]
    assert _visit(watched_page(new_page), everyone.username, pages) == []


def test_administration_pages_raise_no_policy_violation(new_page, database):
    admin = make_user("it.admin", roles=["ADMIN"], full_name="Ivo Tecnico")
    pages = ["/", "/admin/users/", f"/admin/users/{admin.id}", "/admin/users/new", "/audit/"]
    assert _visit(watched_page(new_page), admin.username, pages) == []


def test_a_page_framed_by_another_page_is_refused(new_page, database):
    page = watched_page(new_page)
    page.goto("/login")
    page.evaluate("""() => new Promise(resolve => {
      const frame = document.createElement('iframe');
      frame.src = '/login';
      frame.onload = resolve;
      document.body.appendChild(frame);
      setTimeout(resolve, 3000);
    })""")
    assert any("frame-ancestors" in text or "X-Frame-Options" in text for text in page.messages)
