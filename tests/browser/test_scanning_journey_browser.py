"""The demo journey on the bench tablet (768x1024), by scanning where a scan is natural.

Each person finds the lot by scanning its bag, finds the next action on the screen they land on (no scrolling),
and at the bedside scans wristband and bag: a swapped bag is stopped, the right one is checked, the unit given.
"""

import os
import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseState, DoseUnit
from tests.browser.conftest import issue_to_nurse, record_administration
from tests.browser.test_demo_journey_browser import NEW_PASSWORD, demo, first_login, sign  # noqa: F401
from tests.browser.test_scan_browser import PORTRAIT, scanner
from tests.demo_site import AWAITING_QA

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("SCREENSHOT_DIR", tempfile.gettempdir()))


def on_tablet(new_page, username: str, password: str):
    page = first_login(new_page, username, password)
    page.set_viewport_size(PORTRAIT)
    return page


def scan_to_find(page, code: str) -> None:
    page.locator("#scan-code").click()
    scanner(page, code)


def test_the_journey_by_scanning_on_the_tablet(new_page, demo, database):  # noqa: F811
    passwords, ids = demo
    culture_din = database.session.get(Lot, ids["in_culture"]).din_record
    anna = on_tablet(new_page, "tech.anna", passwords["tech.anna"])
    marco = on_tablet(new_page, "tech.marco", passwords["tech.marco"])
    giulia = on_tablet(new_page, "qa.giulia", passwords["qa.giulia"])
    luca = on_tablet(new_page, "pharm.luca", passwords["pharm.luca"])

    # The count: scan the culture bag, the next action is on screen.
    scan_to_find(anna, culture_din.barcode_data)
    record = anna.get_by_role("link", name="Record culture day")
    expect(record).to_be_in_viewport()
    record.click()
    for field, value in {"concentration": "2.9 x 10^6 cells/mL", "viability": "93 %", "volume": "1000 mL"}.items():
        anna.locator(f"#v_{field}").fill(value)
    expect(anna.locator("#v_viability")).to_have_class(re.compile("judged-green"), timeout=20_000)
    anna.locator("#e_0").select_option(index=1)
    anna.locator("#e_1").select_option(index=1)
    sign(anna, "", "tech.anna")
    anna.get_by_role("button", name="Save and sign as performed").click()
    anna.get_by_text("Culture day recorded and signed.").wait_for()

    # The verification: scan the same bag; the button to the step waiting is on screen.
    scan_to_find(marco, culture_din.barcode_data)
    verify = marco.locator("[data-testid=next-action] a", has_text="Verify culture day")
    expect(verify).to_be_in_viewport()
    verify.click()
    form = marco.locator("form[action$='/verify']").first
    form.locator("input[name=sign_username]").fill("tech.marco")
    form.locator("input[name=sign_password]").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Sign as verified").click()
    confirmed = marco.locator("section.step .flashes")
    expect(confirmed).to_contain_text("Step verified and signed.")
    expect(confirmed).to_be_in_viewport()

    # QA: scan the bag; the review of each unit waiting is on screen, and on it the release form.
    din = ids["din"]
    scan_to_find(giulia, din.barcode_data)
    review = giulia.locator(f"[data-testid=next-action] a[href='/release/doses/{ids['fresh']}']")
    expect(review).to_be_in_viewport()
    review.click()
    giulia.screenshot(path=str(SHOTS / "qa-review-landing.png"))
    decide = giulia.get_by_role("link", name="Go to the release")
    expect(decide).to_be_in_viewport()
    decide.click()
    sign(giulia, "rel-", "qa.giulia")
    expect(giulia.get_by_role("button", name="Sign the release")).to_be_in_viewport()
    giulia.get_by_role("button", name="Sign the release").click()
    giulia.get_by_text("Dose unit released.").wait_for()

    # Pharmacy: scan the bag; the unit's page is on screen: label, issue, then the bedside check by scanning.
    scan_to_find(luca, din.barcode_data)
    unit = luca.locator(f"[data-testid=next-action] a[href='/pharmacy/doses/{ids['fresh']}']")
    expect(unit).to_be_in_viewport()
    unit.click()
    luca.screenshot(path=str(SHOTS / "pharmacy-unit-landing.png"))
    with luca.expect_download() as label:
        luca.get_by_role("button", name="Print the release label").click()
    assert Path(label.value.path()).read_bytes().startswith(b"%PDF")
    luca.goto(f"/pharmacy/doses/{ids['fresh']}")
    issue_to_nurse(luca, "pharm.luca", NEW_PASSWORD)
    second = first_login(new_page, "pharm.sara", passwords["pharm.sara"])
    second.context.close()

    def scan_into(label: str, code: str) -> None:
        """Wait for the field to take the focus (a scan is checked before the focus moves on), then scan."""
        expect(luca.get_by_label(label)).to_be_focused()
        scanner(luca, code)

    def bedside(first_bag: str) -> None:
        luca.get_by_label("First: wristband subject ID").click()
        scan_into("First: wristband subject ID", AWAITING_QA)
        scan_into("First: bag DIN", first_bag)
        scan_into("First: bag division", "A0")
        scan_into("Second: wristband subject ID", AWAITING_QA)  # on to the next scan field
        scan_into("Second: bag DIN", din.barcode_data)
        scan_into("Second: bag division", "A0")
        for label, code in (("First: bag DIN", first_bag), ("Second: bag DIN", din.barcode_data),
                            ("First: wristband subject ID", AWAITING_QA), ("Second: bag division", "A0")):
            expect(luca.get_by_label(label)).to_have_value(code)  # each scan whole, in its own field
        expect(luca.get_by_label("Second: bag division")).not_to_be_focused()  # the last scan checked: moved on
        luca.get_by_label("First: your password").fill(NEW_PASSWORD)
        luca.get_by_label("Second: user ID").fill("pharm.sara")
        luca.get_by_label("Second: password").fill(NEW_PASSWORD)
        luca.get_by_label("Bag intact, labelled").check()
        expect(luca.get_by_label("First: your password")).to_have_value(NEW_PASSWORD)
        luca.get_by_role("button", name="Compare and sign (both)").click()

    bedside(culture_din.barcode_data)  # the other subject's bag
    expect(luca.get_by_test_id("stop")).to_contain_text("STOP")
    expect(luca.get_by_label("First: wristband subject ID")).to_have_value("")  # the page answered, form empty
    bedside(din.barcode_data)
    expect(luca.get_by_text("Bedside check matched and signed by both")).to_be_visible(timeout=30_000)
    record_administration(luca, "pharm.luca", NEW_PASSWORD)
    assert database.session.get(DoseUnit, ids["fresh"]).state == DoseState.ADMINISTERED
