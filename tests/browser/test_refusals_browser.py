"""A refusal is seen where the person is looking, also when the act was a document fetched in the background."""

import pytest
from playwright.sync_api import expect

from manufacturing.core.audit import set_actor
from manufacturing.dispensing.operations import discard_dose
from manufacturing.processing.doses import doses_of
from tests.browser.conftest import screenshot
from tests.browser.test_scan_browser import tablet
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_a_label_refused_after_the_page_was_read_says_why_on_the_spot(new_page, prepared, database):
    qa, lot_id = prepared.bench.qa, prepared.lot.id
    unit = doses_of(prepared.lot)[0]
    username = qa.username
    page = tablet(new_page, username)
    page.goto(f"/lots/{lot_id}#doses")
    button = page.locator(".label-form button").first
    expect(button).to_be_visible()
    set_actor(database.session, qa.id, qa.username)
    discard_dose(unit, qa, "Bag damaged in transport")  # meanwhile, the unit is discarded
    database.session.commit()
    button.click()
    refusal = page.locator("#document-overlay")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("no label is printed")  # after "Preparing label…" on a slow server
    expect(refusal).to_have_attribute("role", "alert")
    assert "no label is printed" in page.locator(".flashes").inner_text()  # and kept on the page it was said on
    screenshot(page, "label-refused-768")
    page.locator("h2").first.click()
    expect(refusal).to_be_hidden()


def test_a_verification_is_answered_beside_its_step(new_page, bench, database):
    lot = bench.receive()
    lot_id, username = lot.id, bench.verifier.username
    page = tablet(new_page, username)
    page.goto(f"/lots/{lot_id}")
    form = page.locator("form[action$='/verify']").first
    form.locator("input[name=sign_username]").fill(username)
    form.locator("input[name=sign_password]").fill("not the password")
    form.get_by_role("button", name="Sign as verified").click()
    here = page.locator("section.step .flashes")
    expect(here).to_contain_text("not accepted")
    expect(here).to_be_in_viewport()
    screenshot(page, "verify-refused-beside-step-768")
    form = page.locator("form[action$='/verify']").first
    form.locator("input[name=sign_username]").fill(username)
    form.locator("input[name=sign_password]").fill(PASSWORD)
    form.get_by_role("button", name="Sign as verified").click()
    expect(page.locator("section.step .flashes")).to_contain_text("Step verified and signed.")
