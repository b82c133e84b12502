"""A technician and a verifier take a lot from receipt to dose preparation in the browser."""

from datetime import timedelta

import pytest

from manufacturing.core import clock
from manufacturing.lots.din import check_character
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import StepKind
from tests.browser.conftest import log_in, screenshot
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE, VALUES

pytestmark = pytest.mark.browser


def fill_step(page, kind: StepKind, username: str, **values) -> None:
    """Fill a step form the way a technician does: values with units, materials, equipment, signature."""
    step_definition = definition(kind)
    for spec in step_definition.fields:
        text = {**VALUES.get(kind, {}), **values}.get(spec.key)
        if spec.kind == "check":
            page.locator(f"#v_{spec.key}").check()
        elif spec.kind == "choice":
            page.locator(f"#v_{spec.key}").select_option(text)
        elif text is not None:
            page.locator(f"#v_{spec.key}").fill(text)
    for index, use in enumerate(step_definition.materials):
        if use.required:
            page.locator(f"#m_{index}").select_option(index=1)
    for index, use in enumerate(step_definition.equipment):
        if use.required:
            page.locator(f"#e_{index}").select_option(index=1)
    page.locator("#sign_username").fill(username)
    page.locator("#sign_password").fill(PASSWORD)


def verify_open_step(page, username: str) -> None:
    form = page.locator("form[action$='/verify']").first
    form.locator("input[name=sign_username]").fill(username)
    form.locator("input[name=sign_password]").fill(PASSWORD)
    form.get_by_role("button", name="Sign as verified").click()
    page.get_by_text("Step verified and signed.").wait_for()


def test_receipt_to_dose_preparation(app, new_page, bench, database, monkeypatch):
    # Two weeks pass in this test; keep the two sessions alive across them.
    monkeypatch.setitem(app.config, "IDLE_TIMEOUT_MINUTES", 60 * 24 * 30)
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_HOURS", 24 * 30)
    tech, verifier = bench.technician.username, bench.verifier.username
    code = bench.subject.subject_code
    bench.weigh(bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] - 20))
    technician_page, verifier_page = new_page(), new_page()
    with clock.frozen(bench.at(0)):
        log_in(technician_page, tech, PASSWORD)
        log_in(verifier_page, verifier, PASSWORD)
        technician_page.goto("/lots/receive")
        technician_page.locator("#subject_code").fill(code)
        technician_page.locator("#din").fill("G1234 26 000123 A")  # wrong check character
        technician_page.locator("#v_collected_at").fill(clock.to_local(bench.at(-6)).strftime("%Y-%m-%dT%H:%M"))
        fill_step(technician_page, StepKind.APHERESIS_RECEIPT, tech)
        technician_page.get_by_role("button", name="Save and sign as performed").click()
        technician_page.get_by_text("should be " + check_character("G123426000123")).wait_for()
        screenshot(technician_page, "receipt-wrong-din")
        technician_page.locator("#din").fill("=G12342600012300")
        technician_page.locator("#sign_password").fill(PASSWORD)
        technician_page.get_by_role("button", name="Save and sign as performed").click()
        technician_page.get_by_text("Apheresis received; lot opened.").wait_for()
    lot_url = technician_page.url
    steps = [(StepKind.CD3_DEPLETION, SCHEDULE[StepKind.CD3_DEPLETION]),
             (StepKind.CD56_SELECTION, SCHEDULE[StepKind.CD56_SELECTION]),
             (StepKind.CULTURE_DAY0, SCHEDULE[StepKind.CULTURE_DAY0]),
             (StepKind.CULTURE_DAY, SCHEDULE[StepKind.CULTURE_DAY0] + 24 * 7),
             (StepKind.HARVEST, SCHEDULE[StepKind.HARVEST])]
    for kind, hours in steps:
        with clock.frozen(bench.at(hours) - timedelta(minutes=30)):
            verifier_page.goto(lot_url)
            verify_open_step(verifier_page, verifier)
        with clock.frozen(bench.at(hours)):
            technician_page.goto(lot_url)
            technician_page.get_by_role("link", name=f"Record {kind.title.lower()}").click()
            fill_step(technician_page, kind, tech)
            technician_page.get_by_role("button", name="Save and sign as performed").click()
            technician_page.get_by_text(f"{kind.title} recorded and signed.").wait_for()
    with clock.frozen(bench.at(SCHEDULE[StepKind.DOSE_PREPARATION]) - timedelta(minutes=30)):
        verifier_page.goto(lot_url)
        verify_open_step(verifier_page, verifier)
    with clock.frozen(bench.at(SCHEDULE[StepKind.DOSE_PREPARATION])):
        technician_page.goto(lot_url)
        technician_page.get_by_role("link", name="Prepare doses").click()
        technician_page.get_by_label("Unit 1 infusion").select_option("1")
        technician_page.get_by_label("Unit 1 final volume").fill("50 mL")
        fill_step(technician_page, StepKind.DOSE_PREPARATION, tech)
        technician_page.get_by_role("button", name="Prepare the dose units and sign").click()
        technician_page.get_by_text("Dose units prepared and quarantined.").wait_for()
    with clock.frozen(bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 1)):
        verifier_page.goto(lot_url)
        verify_open_step(verifier_page, verifier)
        verifier_page.get_by_text("Doses prepared").first.wait_for()
        curve = verifier_page.locator("img.growth").get_attribute("alt")
        assert curve.count(" cells,") + 1 == 3, curve  # day 0, a culture day and the harvest
        assert verifier_page.get_by_text("6.40 × 10⁷ cells").count() >= 1
        screenshot(verifier_page, "lot-complete")
