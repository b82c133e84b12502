"""The demo data's people do the whole journey in the browser: bench, QA release, pharmacy, bedside.

The demo story is loaded as `make run` loads it; each person logs in with the password printed once and
changes it at first login, as they would.
"""

from pathlib import Path

import pytest
from sqlalchemy import select

from manufacturing.processing.models import DoseState, DoseUnit
from tests.browser.conftest import issue_to_nurse, log_in, record_administration, screenshot
from tests.demo_site import AWAITING_QA, IN_CULTURE, load_demo_once, lot_of

pytestmark = pytest.mark.browser
NEW_PASSWORD = "Journey-through-2026"


@pytest.fixture
def demo(database):
    passwords = load_demo_once()
    complete, in_culture = lot_of(AWAITING_QA, database.session), lot_of(IN_CULTURE, database.session)
    fresh = database.session.scalars(select(DoseUnit).where(DoseUnit.lot_id == complete.id,
                                                            DoseUnit.division_code == "A0")).one()
    ids = {"complete": complete.id, "in_culture": in_culture.id, "fresh": fresh.id, "din": complete.din_record}
    database.session.commit()
    return passwords, ids


def first_login(new_page, username: str, password: str):
    """Log in with the demo password and change it, as the first login requires."""
    page = new_page()
    log_in(page, username, password)
    page.get_by_label("Current password").fill(password)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Your password was changed.").wait_for()
    return page


def sign(page, prefix: str, username: str) -> None:
    page.locator(f"#{prefix}sign_username").fill(username)
    page.locator(f"#{prefix}sign_password").fill(NEW_PASSWORD)


def test_demo_people_take_the_journey(new_page, demo, database):
    passwords, ids = demo
    anna = first_login(new_page, "tech.anna", passwords["tech.anna"])
    marco = first_login(new_page, "tech.marco", passwords["tech.marco"])
    giulia = first_login(new_page, "qa.giulia", passwords["qa.giulia"])
    luca = first_login(new_page, "pharm.luca", passwords["pharm.luca"])

    # At the bench: today's count of the lot in culture, verified by the second technician.
    anna.goto(f"/lots/{ids['in_culture']}/steps/culture-day/new")
    for field, value in {"concentration": "2.9 x 10^6 cells/mL", "viability": "93 %", "volume": "1000 mL"}.items():
        anna.locator(f"#v_{field}").fill(value)
    anna.locator("#e_0").select_option(index=1)
    anna.locator("#e_1").select_option(index=1)
    sign(anna, "", "tech.anna")
    anna.get_by_role("button", name="Save and sign as performed").click()
    screenshot(anna, "journey-culture-day")
    anna.get_by_text("Culture day recorded and signed.").wait_for()
    marco.goto(f"/lots/{ids['in_culture']}")
    form = marco.locator("form[action$='/verify']").first
    form.locator("input[name=sign_username]").fill("tech.marco")
    form.locator("input[name=sign_password]").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Sign as verified").click()
    marco.get_by_text("Step verified and signed.").wait_for()

    # QA reviews by exception and releases the fresh unit on an interim certificate.
    giulia.get_by_role("link", name="Release").click()
    giulia.locator(f"a[href='/release/doses/{ids['fresh']}']").click()
    giulia.get_by_text("Sterility").first.wait_for()
    sign(giulia, "rel-", "qa.giulia")
    giulia.get_by_role("button", name="Sign the release").click()
    giulia.get_by_text("Dose unit released.").wait_for()
    screenshot(giulia, "journey-released")

    # Pharmacy sees the unit is not fit to give until its release label is printed, prints it, then issues it
    # against the order; two pharmacists check it at the bedside; it is given.
    luca.goto(f"/pharmacy/doses/{ids['fresh']}")
    luca.get_by_role("heading", name="Not fit to give").wait_for()
    screenshot(luca, "journey-not-fit-without-label")
    with luca.expect_download() as label:
        luca.get_by_role("button", name="Print the release label").click()
    assert Path(label.value.path()).read_bytes().startswith(b"%PDF")
    luca.goto(f"/pharmacy/doses/{ids['fresh']}")
    luca.get_by_role("heading", name="Fit to give").wait_for()
    issue_to_nurse(luca, "pharm.luca", NEW_PASSWORD)
    sara_password = passwords["pharm.sara"]
    _first_login_sara(new_page, sara_password)
    din = ids["din"]
    for who in ("First", "Second"):
        luca.get_by_label(f"{who}: wristband subject ID").fill(AWAITING_QA)
        luca.get_by_label(f"{who}: bag DIN").fill(din.barcode_data if who == "First" else din.keyboard)
        luca.get_by_label(f"{who}: bag division").fill("A0")
    luca.get_by_label("First: your password").fill(NEW_PASSWORD)
    luca.get_by_label("Second: user ID").fill("pharm.sara")
    luca.get_by_label("Second: password").fill(NEW_PASSWORD)
    luca.get_by_label("Bag intact, labelled").check()
    luca.get_by_role("button", name="Compare and sign (both)").click()
    luca.get_by_text("Bedside check matched and signed by both").wait_for()
    record_administration(luca, "pharm.luca", NEW_PASSWORD)
    screenshot(luca, "journey-administered")
    assert database.session.get(DoseUnit, ids["fresh"]).state == DoseState.ADMINISTERED


def _first_login_sara(new_page, password: str) -> None:
    """The second pharmacist changes the demo password on her own tablet before co-signing."""
    page = first_login(new_page, "pharm.sara", password)
    page.context.close()
