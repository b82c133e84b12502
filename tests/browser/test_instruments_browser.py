"""A technician imports a Vi-CELL BLU export on a culture day; a second technician verifies it."""

from dataclasses import replace
from datetime import timedelta

import pytest

from manufacturing.core import clock
from manufacturing.instruments import operations
from manufacturing.instruments.readings import read_export
from manufacturing.processing.models import StepKind
from tests.browser.conftest import log_in, screenshot
from tests.browser.test_processing_browser import verify_open_step
from tests.factories import PASSWORD
from tests.instruments.exports import vi_cell_blu_export
from tests.processing.factories import SCHEDULE

pytestmark = pytest.mark.browser


def test_a_count_imported_from_a_vi_cell_blu_export_and_verified(app, new_page, bench, database, monkeypatch):
    lot = bench.lot_through(StepKind.CULTURE_DAY0)
    day5 = bench.at(SCHEDULE[StepKind.CULTURE_DAY0] + 24 * 5)
    analysed = day5 + timedelta(minutes=2)

    def read(name, content):  # the file as written, its analysis moved to this lot's culture day 5
        export = read_export(name, content)
        return replace(export, samples=tuple(replace(sample, analysed_at=analysed) for sample in export.samples))

    monkeypatch.setattr(operations, "read_export", read)
    lot_id, lot_number = lot.id, lot.lot_number
    technician_name, verifier_name = bench.technician.username, bench.verifier.username
    content = vi_cell_blu_export(sample_id=f"{lot_number}-D5")
    technician, verifier = new_page(), new_page()  # the test's session is closed: the server writes alone
    with clock.frozen(day5 + timedelta(minutes=15)):
        log_in(technician, technician_name, PASSWORD)
        technician.goto(f"/lots/{lot_id}")
        technician.get_by_role("link", name="Import culture day from an instrument").click()
        technician.locator("#export").set_input_files(
            {"name": "vi-cell-blu.csv", "mimeType": "text/csv", "buffer": content})
        technician.get_by_role("button", name="Read the file").click()
        technician.get_by_text("This file holds 2 samples").wait_for()
        technician.locator("#sample_row").select_option(index=1)
        technician.get_by_role("button", name="Read the file").click()
        technician.get_by_text(f"{lot_number}-D5").first.wait_for()
        technician.set_viewport_size({"width": 768, "height": 1024})
        screenshot(technician, "instrument-import-preview-768")
        assert technician.locator("#v_concentration").get_attribute("readonly") is not None
        assert technician.locator("#v_viability").input_value().startswith("92.03")
        technician.locator("#e_0").select_option(index=1)  # the Vi-CELL BLU's export gives no serial number
        technician.locator("#e_1").select_option(index=1)
        technician.locator("#v_volume").fill("200 mL")
        technician.locator("#v_action").select_option("feed")
        technician.locator("#v_volume_added").fill("200 mL")
        technician.locator("#sign_username").fill(technician_name)
        technician.locator("#sign_password").fill(PASSWORD)
        technician.get_by_role("button", name="Save and sign as performed").click()
        technician.get_by_text("recorded from vi-cell-blu.csv and signed").wait_for()
        technician.get_by_text("From instrument file:").first.wait_for()
    with clock.frozen(day5 + timedelta(minutes=40)):
        log_in(verifier, verifier_name, PASSWORD)
        verifier.goto(f"/lots/{lot_id}")
        verifier.get_by_role("link", name="vi-cell-blu.csv").first.wait_for()
        verify_open_step(verifier, verifier_name)
        verifier.set_viewport_size({"width": 1024, "height": 768})
        screenshot(verifier, "instrument-import-verified-1024")
