"""Documents are downloaded from the lot page: batch record, certificate, bag label (prints counted).

Downloads store nothing; a label print (a POST) is stored and counted; QA stores a batch record revision.
"""

from datetime import timedelta

import pytest

from manufacturing.core import clock
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import StepKind
from manufacturing.release import operations
from tests.browser.conftest import log_in
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE, set_up_bench
from tests.release.factories import record_results

pytestmark = pytest.mark.browser


@pytest.fixture
def released(database, technician, verifier, qa_user, pharmacist):
    bench = set_up_bench(technician, verifier, qa_user, pharmacist,
                         clock.now().replace(second=0, microsecond=0) - timedelta(days=20))
    lot = bench.lot_through(StepKind.DOSE_PREPARATION)
    dose = doses_of(lot)[0]
    at = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    record_results(bench, lot, dose, at)
    bench._as(bench.qa, at + timedelta(hours=1), operations.release_dose, dose, bench.qa, PASSWORD, bench.qa.username)
    return lot.id, bench.technician.username, bench.qa.username


def download(page, locator) -> bytes:
    with page.expect_download() as info:
        locator.click()
    return open(info.value.path(), "rb").read()


def documents_listed(page, kind: str) -> int:
    return page.locator("table.documents").get_by_text(kind).count()


def test_documents_download_from_the_lot_page(new_page, released):
    lot_id, username, _ = released
    page = new_page()
    log_in(page, username, PASSWORD)
    page.goto(f"/lots/{lot_id}")
    record = download(page, page.get_by_role("link", name="Batch record (PDF)"))
    assert record.startswith(b"%PDF")
    certificate = download(page, page.get_by_role("link", name="Certificate", exact=True))
    assert certificate.startswith(b"%PDF")
    label = download(page, page.get_by_role("button", name="Print label"))
    assert label.startswith(b"%PDF")
    page.reload()
    page.get_by_label("Reason for reprinting the label of unit A0").fill("Label smudged at the bench")
    reprint = download(page, page.get_by_role("button", name="Reprint label (1 printed)"))
    assert reprint.startswith(b"%PDF") and reprint != label
    page.reload()
    page.get_by_text("Reprint label (2 printed)").wait_for()
    assert documents_listed(page, "Bag label") == 2  # each print is stored
    assert documents_listed(page, "Executed batch record") == 1  # the release's; a download stores nothing
    assert page.get_by_role("button", name="Store a batch record revision").count() == 0  # QA's act


def test_qa_stores_a_batch_record_revision(new_page, released):
    lot_id, _, qa_username = released
    page = new_page()
    log_in(page, qa_username, PASSWORD)
    page.goto(f"/lots/{lot_id}")
    assert documents_listed(page, "Executed batch record") == 1  # stored with the release
    page.get_by_role("button", name="Store a batch record revision").click()
    flash = page.get_by_text("The batch record is stored as revision")
    revision = int(flash.inner_text().rstrip(".").rsplit(" ", 1)[1])
    assert documents_listed(page, "Executed batch record") == revision  # a new revision only if it changed
