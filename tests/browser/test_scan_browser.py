"""A barcode scanner types the code and presses Enter: pages take a scan, check it and move on, at tablet size."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import issue_to_nurse, log_in, screenshot
from tests.dispensing.factories import SCAN
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
PORTRAIT = {"width": 768, "height": 1024}


def scanner(page, code: str) -> None:
    """What a keyboard-wedge scanner does: type every character, then Enter."""
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")


def tablet(new_page, username: str):
    """A fresh tablet, portrait, with this person logged in."""
    page = new_page()
    page.set_viewport_size(PORTRAIT)
    log_in(page, username, PASSWORD)
    return page


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_the_scan_box_on_every_page_takes_a_bag_to_its_lot(new_page, prepared):
    username, lot_id = prepared.bench.technician.username, prepared.lot.id
    page = tablet(new_page, username)
    page.locator("#scan-code").click()
    scanner(page, SCAN)
    page.wait_for_url(f"**/lots/{lot_id}")
    page.locator("#scan-code").click()
    scanner(page, "G1234 26 000123")  # typed without its check character: refused, never a guess
    problem = page.get_by_test_id("find-problem")
    assert "typed without its check character" in problem.inner_text()
    assert focused_id(page) == "find-code"  # ready for the next scan
    screenshot(page, "find-refused-768")


def test_at_receipt_the_wristband_scan_moves_on_to_the_bag(new_page, bench):
    username, subject_code = bench.technician.username, bench.subject.subject_code
    page = tablet(new_page, username)
    page.goto("/lots/receive")
    assert focused_id(page) == "subject_code"
    scanner(page, subject_code)
    expect(page.locator("#din")).to_be_focused()  # the form was not sent half filled: the bag scan lands here
    assert "/lots/receive" in page.url and page.locator(".error").count() == 0
    page.locator("#subject_code-scan-note").wait_for()
    assert page.locator("#subject_code-scan-note").inner_text() == f"Read: Subject {subject_code}"
    scanner(page, "=G1234260001230")  # a scan cut short
    note = page.locator("#din-scan-note")
    note.wait_for()
    assert "re-scan the bag" in note.inner_text()
    assert page.locator("#din").get_attribute("aria-invalid") == "true"
    assert focused_id(page) == "din"  # a refused scan stays, selected, for the next scan to replace
    scanner(page, SCAN)
    expect(page.get_by_label("Collection date and time (bag label)")).to_be_focused()  # accepted: next empty field
    assert page.locator("#din-scan-note").inner_text() == "Read: DIN G1234 26 000123"
    assert "/lots/receive" in page.url and page.locator(".error").count() == 0
    screenshot(page, "receipt-scans-768")


def test_at_the_bedside_a_wristband_scan_does_not_send_the_half_filled_check(new_page, ward):
    username, dose_id = ward.pharmacist.username, ward.fresh.id
    page = tablet(new_page, username)
    page.goto(f"/pharmacy/doses/{dose_id}")
    issue_to_nurse(page, username, PASSWORD)
    page.get_by_label("First: wristband subject ID").click()
    scanner(page, "LAL2013-RM-001")
    assert page.get_by_text("This field is required.").count() == 0
    expect(page.locator("#first_din")).to_be_focused()  # on to the first person's bag DIN
    scanner(page, SCAN)
    expect(page.locator("#first_division")).to_be_focused()
    screenshot(page, "bedside-scans-768")


def test_a_culture_count_colours_as_it_is_typed(new_page, bench):
    from manufacturing.processing.models import StepKind

    lot = bench.lot_through(StepKind.CULTURE_DAY, culture_days=(5,))
    lot_id, username = lot.id, bench.technician.username
    page = tablet(new_page, username)
    page.goto(f"/lots/{lot_id}/steps/culture-day/new")
    viability = page.locator("#v_viability")
    viability.fill("65 %")
    expect(viability).to_have_class(re.compile("judged-red"))
    expect(page.locator("#v_viability-judged")).to_contain_text("below the action limit 70 %")
    viability.fill("93 %")
    expect(viability).to_have_class(re.compile("judged-green"))
    screenshot(page, "culture-judged-768")
