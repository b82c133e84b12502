"""Pharmacy issues a dose; at the bedside a swapped bag is stopped in red, the right one is checked and given."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from manufacturing.core import clock
from manufacturing.processing.models import DoseState, DoseUnit
from tests.browser.conftest import issue_to_nurse, log_in, record_administration, screenshot
from tests.dispensing.factories import KEYBOARD, OTHER_DIN, SCAN
from tests.factories import PASSWORD
from tests.release.factories import record

pytestmark = pytest.mark.browser
RED_BACKGROUND = "rgb(253, 232, 231)"  # --red-bg of app.css


def read_at_bedside(page, second_din: str) -> None:
    """Both people read the wristband and the bag on the same tablet; each signs with their own password."""
    page.get_by_label("First: wristband subject ID").fill("LAL2013-RM-001")
    page.get_by_label("First: bag DIN").fill(KEYBOARD)
    page.get_by_label("First: bag division").fill("A0")
    page.get_by_label("First: your password").fill(PASSWORD)
    page.get_by_label("Second: wristband subject ID").fill("LAL2013-RM-001")
    page.get_by_label("Second: bag DIN").fill(second_din)
    page.get_by_label("Second: bag division").fill("=<S12341A0")
    page.get_by_label("Second: user ID").fill("pharm.two")
    page.get_by_label("Second: password").fill(PASSWORD)
    page.get_by_label("Bag intact, labelled").check()
    page.get_by_role("button", name="Compare and sign (both)").click()


def test_swapped_bag_stopped_then_checked_and_given(new_page, ward, database):
    username, dose_id = ward.pharmacist.username, ward.fresh.id  # read before the browser acts: no transaction
    page = new_page()
    log_in(page, username, PASSWORD)
    page.get_by_role("link", name="Pharmacy").click()
    page.get_by_role("link", name="A0").click()
    issue_to_nurse(page, username, PASSWORD)

    read_at_bedside(page, OTHER_DIN)
    stop = page.get_by_test_id("stop")
    stop.wait_for()
    assert "Bag DIN G1234 26 000124 is not the DIN of this dose unit (G1234 26 000123)" in stop.inner_text()
    assert "STOP" in stop.inner_text()
    expect(stop).to_have_css("background-color", RED_BACKGROUND)  # retried: the style sheet may still be loading
    flash = page.locator(".flash-error").first
    assert "STOP, do not infuse." in flash.inner_text()
    expect(flash).to_have_css("background-color", RED_BACKGROUND)
    screenshot(page, "bedside-swapped-bag")

    read_at_bedside(page, SCAN)
    page.get_by_text("Bedside check matched and signed by both").wait_for()
    assert page.get_by_test_id("stop").count() == 0
    assert page.get_by_text("· Bedside check ·").count() == 1
    assert page.get_by_text("· Bedside check, second person ·").count() == 1

    record_administration(page, username, PASSWORD, minutes=3, appearance="Slightly cloudy, no clumps")
    assert page.get_by_test_id("dose-state").inner_text() == "Administered"
    screenshot(page, "dose-administered")
    assert database.session.get(DoseUnit, dose_id).state == DoseState.ADMINISTERED


def test_a_unit_held_after_a_positive_culture_shows_why_before_anyone_acts(new_page, ward, database):
    record(ward.bench, ward.lot, ward.fresh, "sterility", "growth", clock.now() - timedelta(minutes=5), verify=False)
    username, dose_id = ward.pharmacist.username, ward.fresh.id
    page = new_page()
    log_in(page, username, PASSWORD)
    page.get_by_role("link", name="Pharmacy").click()
    row = page.get_by_test_id("awaiting-issue").locator("tr", has_text="A0")
    assert "Not fit" in row.inner_text() and "on hold" in row.inner_text()
    page.goto(f"/pharmacy/doses/{dose_id}")
    gate = page.get_by_test_id("fit-to-give")
    assert "Not fit to give" in gate.inner_text() and "on hold after a failing result" in gate.inner_text()
    assert page.get_by_role("button", name="Issue and sign").count() == 0
    for width, height in ((768, 1024), (1024, 768)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"dose-held-{width}x{height}")
    assert database.session.get(DoseUnit, dose_id).state == DoseState.ON_HOLD
