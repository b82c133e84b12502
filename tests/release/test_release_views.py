"""The release pages: QA's queue and review by exception, the certificate, post-release alerts."""

from datetime import timedelta

import pytest

from manufacturing.core import clock
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseState, StepKind
from manufacturing.records import storage
from manufacturing.release import operations
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.release.factories import record, record_results


@pytest.fixture
def dose(prepared):
    lot = prepared.lot
    return doses_of(lot)[0]


@pytest.fixture
def qc_time(bench):
    return bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)


@pytest.mark.parametrize(("who", "status"), [("qa", 200), ("technician", 403), ("pharmacist", 403)])
def test_release_pages_are_for_qa(client, login, bench, dose, who, status):
    login(getattr(bench, who))
    assert client.get("/release/").status_code == status
    assert client.get(f"/release/doses/{dose.id}").status_code == status


def test_review_shows_only_the_exceptions(client, login, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time, potency=None, viability="75 %")
    login(bench.qa)
    page = client.get(f"/release/doses/{dose.id}").get_data(as_text=True)
    assert "Potency: no result yet" in page and "Sterility" in page
    assert "Not releasable yet" in page


def test_release_through_the_page_and_the_certificate(client, login, bench, dose, qc_time, database):
    record_results(bench, dose.lot, dose, qc_time)
    login(bench.qa)
    with clock.frozen(qc_time + timedelta(hours=1)):
        response = client.post(f"/release/doses/{dose.id}/release",
                               data={"sign_username": bench.qa.username, "sign_password": PASSWORD})
    assert response.status_code == 302
    database.session.refresh(dose)
    assert dose.state == DoseState.RELEASED_INTERIM
    stored = {doc.kind.name: doc for doc in storage.revisions(dose.lot)}
    assert set(stored) == {"CERTIFICATE", "BATCH_RECORD"}  # kept as they stood at the release
    download = client.get(f"/records/doses/{dose.id}/certificate.pdf")
    assert download.headers["X-Content-SHA256"] == stored["CERTIFICATE"].sha256
    certificate = client.get(f"/release/doses/{dose.id}/certificate").get_data(as_text=True)
    assert "INTERIM" in certificate and "Sterility pending" in certificate
    assert "Quinta Qualita (qa.one) · Released" in certificate and dose.lot.lot_number in certificate


def test_wrong_password_releases_nothing(client, login, bench, dose, qc_time, database):
    record_results(bench, dose.lot, dose, qc_time)
    login(bench.qa)
    with clock.frozen(qc_time + timedelta(hours=1)):
        page = client.post(f"/release/doses/{dose.id}/release", follow_redirects=True,
                           data={"sign_username": bench.qa.username, "sign_password": "wrong"}).get_data(as_text=True)
    assert "Password not accepted" in page
    database.session.refresh(dose)
    assert dose.state == DoseState.QUARANTINE


def test_alert_is_on_the_home_page_of_qa_and_pharmacy_until_informed(client, login, bench, dose, qc_time):
    record_results(bench, dose.lot, dose, qc_time)
    bench._as(bench.qa, qc_time + timedelta(hours=1), operations.release_dose, dose, bench.qa, PASSWORD,
              bench.qa.username)
    record(bench, dose.lot, dose, "sterility", "growth", qc_time + timedelta(days=3), verify=False)
    for user in (bench.qa, bench.pharmacist):
        login(user)
        assert "Sterility &#34;growth&#34; fails" in client.get("/").get_data(as_text=True)
    alerts_page = client.get("/release/alerts/").get_data(as_text=True)
    assert "the treating physician must be informed" in alerts_page and "on hold" in alerts_page
    alert_id = alerts_page.split('/release/alerts/')[1].split('/informed')[0]
    client.post(f"/release/alerts/{alert_id}/informed", data={"physician_name": "Dr. Conti", "note": "Phoned"})
    assert "Sterility &#34;growth&#34; fails" not in client.get("/").get_data(as_text=True)


def test_a_qa_person_who_worked_on_the_lot_sees_why_and_no_release_form(client, login, bench, dose, qc_time,
                                                                          admin, database):
    from manufacturing.accounts import operations as accounts
    from manufacturing.core.audit import set_actor
    from manufacturing.core.permissions import Role

    record_results(bench, dose.lot, dose, qc_time)
    set_actor(database.session, admin.id, admin.username)
    accounts.set_roles(admin, bench.verifier, [Role.TECHNICIAN, Role.QA], "Covers QA this week")
    database.session.commit()
    login(bench.verifier)
    page = client.get(f"/release/doses/{dose.id}").get_data(as_text=True)
    assert page.count("another QA person must release it") == 1
    assert "Sign the release" not in page and "Sign the rejection" not in page
    login(bench.qa)
    assert "Sign the release" in client.get(f"/release/doses/{dose.id}").get_data(as_text=True)
