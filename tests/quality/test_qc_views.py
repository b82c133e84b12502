"""The QC page: everyone logged in reads it, technicians and QA enter and verify, refusals write nothing."""

import re

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import StepKind
from manufacturing.quality import qc
from manufacturing.quality.models import Deviation, QcKind, QcResult, QcStatus
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE

PREPARED = SCHEDULE[StepKind.DOSE_PREPARATION]


@pytest.fixture
def lot(prepared):
    return prepared.lot


@pytest.fixture
def dose(lot):
    return doses_of(lot)[0]


def posted(bench, user, dose, test_key, value="", answer="", hours=2.0, **extra):
    """What the browser posts to enter a result."""
    return {"test_key": test_key, "dose_unit": str(dose.id) if dose else "", "value": value, "answer": answer,
            "tested_at": clock.to_local(bench.at(PREPARED + hours)).strftime("%Y-%m-%dT%H:%M"),
            "kind": "ORIGINAL", "retest_of": "", "comment": "", "sign_username": user.username,
            "sign_password": PASSWORD, **extra}


def enter(database, bench, lot, dose, key, entered, hours=2.0, **options):
    result = qc.record_result(lot, dose, key, entered, bench.at(PREPARED + hours), bench.technician, PASSWORD,
                              bench.technician.username, **options)
    database.session.commit()
    return result


def results(database) -> int:
    return database.session.scalar(select(func.count()).select_from(QcResult))


def row(page: str, row_id: str) -> str:
    """Return the HTML of one table row of the page, found by its id."""
    start = page.index(f'id="{row_id}"')
    return page[start:page.index("</tr>", start)]


@pytest.mark.parametrize("who", ["technician", "verifier", "qa", "pharmacist", "admin"])
def test_everyone_logged_in_reads_the_page(client, login, bench, lot, admin, who):
    login(admin if who == "admin" else getattr(bench, who))
    response = client.get(f"/qc/lots/{lot.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sampling plan" in page and "harvest supernatant" in page and "Dose unit A0" in page
    assert "Signed QC results are not corrected" in page
    assert ("Enter a result" in page) == (who in ("technician", "verifier", "qa"))


def test_the_page_needs_a_login_and_an_existing_lot(client, login, bench, lot):
    assert client.get(f"/qc/lots/{lot.id}").status_code == 302
    login(bench.technician)
    assert client.get(f"/qc/lots/{lot.id + 1000}").status_code == 404


@pytest.mark.parametrize(("who", "status"), [("technician", 302), ("qa", 302), ("pharmacist", 403),
                                             ("admin", 403)])
def test_technicians_and_qa_enter_results(client, login, database, bench, lot, dose, admin, who, status):
    user = login(admin if who == "admin" else getattr(bench, who))
    response = client.post(f"/qc/lots/{lot.id}/results", data=posted(bench, user, dose, "viability", "92 %"))
    assert response.status_code == status
    assert results(database) == (1 if status == 302 else 0)


@pytest.mark.parametrize(("who", "status"), [("verifier", 302), ("qa", 302), ("pharmacist", 403), ("admin", 403)])
def test_technicians_and_qa_verify_results(client, login, database, bench, lot, dose, admin, who, status):
    result = enter(database, bench, lot, dose, "viability", "92 %")
    user = login(admin if who == "admin" else getattr(bench, who))
    response = client.post(f"/qc/lots/{lot.id}/results/{result.id}/verify",
                           data={"sign_username": user.username, "sign_password": PASSWORD})
    assert response.status_code == status
    database.session.refresh(result)
    assert (result.status == QcStatus.VERIFIED) == (status == 302)


def test_an_answer_is_chosen_for_a_qualitative_test(client, login, database, bench, lot, dose):
    login(bench.technician)
    data = posted(bench, bench.technician, dose, "sterility", answer="sterility|no growth")
    assert client.post(f"/qc/lots/{lot.id}/results", data=data).status_code == 302
    assert database.session.scalars(select(QcResult)).one().text == "no growth"


@pytest.mark.parametrize(("data", "message"), [
    ({"value": "120 %"}, "is outside the plausible range for a percentage"),
    ({"answer": "sterility|growth"}, "one of the two"),
    ({"test_key": "sterility", "value": "", "answer": "gram_stain|organisms seen"}, "belongs to another test"),
    ({"dose_unit": ""}, "choose the dose unit"),
    ({"sign_password": "wrong"}, "Password not accepted"),
])
def test_a_refused_entry_is_shown_again_and_nothing_is_written(client, login, database, bench, lot, dose,
                                                                data, message):
    login(bench.technician)
    form = {**posted(bench, bench.technician, dose, "viability", "92 %"), **data}
    response = client.post(f"/qc/lots/{lot.id}/results", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page
    if form["value"]:
        assert f'value="{form["value"]}"' in page
    assert results(database) == 0 and database.session.scalar(select(func.count()).select_from(Deviation)) == 0


def test_an_oos_entry_on_the_page_opens_an_investigation(client, login, database, bench, lot, dose):
    login(bench.technician)
    response = client.post(f"/qc/lots/{lot.id}/results", data=posted(bench, bench.technician, dose, "viability",
                                                                      "60 %"), follow_redirects=True)
    deviation = database.session.scalars(select(Deviation)).one()
    page = response.get_data(as_text=True)
    assert f"Out of specification: OOS investigation {deviation.number} opened." in page
    assert f'href="/deviations/{deviation.id}"' in row(page, "line-A0-viability")


def test_oos_stays_flagged_for_the_failed_original_and_beside_its_passing_retest(client, login, database, bench,
                                                                                 lot, dose):
    original = enter(database, bench, lot, dose, "viability", "60 %")
    retest = enter(database, bench, lot, dose, "viability", "85 %", hours=5, kind=QcKind.RETEST,
                   retest_of=original, comment="Retest of the retained sample")
    number = qc.investigation_of(original).number
    login(bench.pharmacist)
    line = row(client.get(f"/qc/lots/{lot.id}").get_data(as_text=True), "line-A0-viability")
    latest, earlier = line.split(f'id="result-{original.id}"')
    assert "85.0 %" in latest and "badge-green" in latest and f"Retest of #{original.id}" in latest
    assert f'data-oos="{original.id}"' in latest and number in latest  # the passing retest's row says OOS
    assert re.search(r"<del>\s*60\.0 %\s*</del>", earlier) and "badge-red" in earlier
    assert f'data-oos="{original.id}"' in earlier and number in earlier
    assert f'data-oos="{retest.id}"' not in line


def test_a_retest_link_prefills_the_form(client, login, database, bench, lot, dose):
    original = enter(database, bench, lot, dose, "viability", "60 %")
    login(bench.technician)
    page = client.get(f"/qc/lots/{lot.id}?test_key=viability&dose_unit={dose.id}&kind=RETEST"
                      f"&retest_of={original.id}").get_data(as_text=True)
    assert f'<option selected value="{original.id}">' in page and '<option selected value="RETEST">' in page


def test_a_retest_through_the_page_keeps_the_original(client, login, database, bench, lot, dose):
    original = enter(database, bench, lot, dose, "viability", "60 %")
    login(bench.qa)
    data = posted(bench, bench.qa, dose, "viability", "85 %", hours=5, kind="RETEST", retest_of=str(original.id),
                  comment="Counting chamber damaged")
    assert client.post(f"/qc/lots/{lot.id}/results", data=data).status_code == 302
    database.session.refresh(original)
    assert original.entered == "60 %" and results(database) == 2


def test_the_recorder_cannot_verify_on_the_page(client, login, database, bench, lot, dose):
    result = enter(database, bench, lot, dose, "viability", "92 %")
    login(bench.technician)
    page = client.get(f"/qc/lots/{lot.id}").get_data(as_text=True)
    assert "You recorded this result: a second person verifies it." in page
    response = client.post(f"/qc/lots/{lot.id}/results/{result.id}/verify", follow_redirects=True,
                           data={"sign_username": bench.technician.username, "sign_password": PASSWORD})
    assert "a second person must verify it" in response.get_data(as_text=True)
    database.session.refresh(result)
    assert result.status == QcStatus.RECORDED


def test_a_result_of_another_lot_is_not_found(client, login, database, bench, lot, dose):
    result = enter(database, bench, lot, dose, "viability", "92 %")
    login(bench.verifier)
    response = client.post(f"/qc/lots/{lot.id + 1000}/results/{result.id}/verify",
                           data={"sign_username": bench.verifier.username, "sign_password": PASSWORD})
    assert response.status_code == 404

