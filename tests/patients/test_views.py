"""Subject pages per role: who sees, who may post, and refusals shown on the page with nothing written."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.patients.models import BodyWeight, InfusionOrder, OrderStatus, Subject
from tests.patients.factories import add_weight, make_dose_unit, make_lot, make_order, make_subject

ROLES = ["technician", "qa_user", "pharmacist", "admin"]


def count(database, model) -> int:
    return database.session.scalar(select(func.count()).select_from(model))


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def subject(pharmacist):
    subject = make_subject(pharmacist)
    add_weight(pharmacist, subject, "64.5 kg", days_ago=1)
    return subject


def registration(**changes) -> dict:
    return {"subject_code": " lal2013-rm-007 ", "initials": "gb", "date_of_birth": "1950-02-01", "sex": "FEMALE",
            "site": "Rome, Policlinico Umberto I"} | changes


def order_form(subject, **changes) -> dict:
    planned = (clock.today() + timedelta(days=1)).isoformat()
    return {"infusion_number": "1", "dose_level": "1", "body_weight": str(subject.latest_weight.id),
            "planned_date": planned, "prescriber": "Dr. Anna Conti", "order_reference": "ORD-7"} | changes


@pytest.mark.parametrize("fixture", ROLES)
def test_every_role_sees_the_list_and_the_subject(request, client, login, subject, fixture):
    login(request.getfixturevalue(fixture))
    page = text(client.get("/subjects/"))
    assert "LAL2013-RM-001" in page and "64.5 kg" in page
    page = text(client.get(f"/subjects/{subject.id}"))
    assert "Infusion plan" in page and "6.45 × 10⁷ cells" in page and "Rome, Policlinico Umberto I" in page


def test_the_list_shows_lots_and_the_next_planned_infusion(client, login, pharmacist, technician, subject):
    order = make_order(pharmacist, subject)
    make_lot(technician, subject)
    login(technician)
    page = text(client.get("/subjects/"))
    assert f"Infusion 1 on {order.planned_date}" in page and "<td>1</td>" in page


@pytest.mark.parametrize(("fixture", "forms"), [
    ("technician", set()),
    ("qa_user", {"Correct subject data", "Record a body weight"}),
    ("admin", set()),
    ("pharmacist", {"Correct subject data", "Record a body weight", "Record an infusion order"}),
])
def test_the_subject_page_offers_each_role_its_forms(request, client, login, subject, fixture, forms):
    login(request.getfixturevalue(fixture))
    page = text(client.get(f"/subjects/{subject.id}"))
    shown = {title for title in ("Correct subject data", "Record a body weight", "Record an infusion order")
             if title in page}
    assert shown == forms


def test_unknown_subject_is_404(client, login, technician):
    login(technician)
    assert client.get("/subjects/999").status_code == 404


@pytest.mark.parametrize(("fixture", "status"), [("technician", 403), ("qa_user", 200), ("pharmacist", 200),
                                                  ("admin", 403)])
def test_who_may_open_the_registration_page(request, client, login, fixture, status):
    login(request.getfixturevalue(fixture))
    assert client.get("/subjects/new").status_code == status


def test_registration_normalises_the_scanned_id(client, login, qa_user, database):
    login(qa_user)
    response = client.post("/subjects/new", data=registration())
    subject = database.session.scalars(select(Subject)).one()
    assert response.status_code == 302 and response.headers["Location"] == f"/subjects/{subject.id}"
    assert (subject.subject_code, subject.initials) == ("LAL2013-RM-007", "GB")


def test_a_technician_cannot_post_a_registration(client, login, technician, database):
    login(technician)
    assert client.post("/subjects/new", data=registration()).status_code == 403
    assert count(database, Subject) == 0


def test_a_minor_is_refused_on_the_page_and_nothing_is_written(client, login, pharmacist, database):
    login(pharmacist)
    born = (clock.today() - timedelta(days=17 * 365)).isoformat()
    response = client.post("/subjects/new", data=registration(date_of_birth=born))
    assert response.status_code == 422
    assert "years old: the study enrols adults only" in text(response)
    assert 'value=" lal2013-rm-007 "' in text(response)
    assert count(database, Subject) == 0


def test_a_missing_date_is_shown_at_its_field(client, login, pharmacist, database):
    login(pharmacist)
    response = client.post("/subjects/new", data=registration(date_of_birth=""))
    assert response.status_code == 422 and "Enter a date." in text(response)
    assert count(database, Subject) == 0


@pytest.mark.parametrize(("fixture", "status"), [("pharmacist", 302), ("qa_user", 302), ("admin", 403),
                                                  ("technician", 403)])
def test_who_records_a_body_weight(request, client, login, subject, database, fixture, status):
    login(request.getfixturevalue(fixture))
    day = clock.today().isoformat()
    response = client.post(f"/subjects/{subject.id}/weights", data={"weight": "63,8 kg", "measured_on": day})
    assert response.status_code == status
    assert count(database, BodyWeight) == (2 if status == 302 else 1)


@pytest.mark.parametrize(("entered", "message"), [
    ("645 kg", "645 kg is outside the plausible range for an adult (30 kg to 250 kg): check the entry."),
    ("64.5 mL", "64.5 mL is a volume, but a mass (kg) is expected here"),
])
def test_a_refused_weight_is_shown_with_what_was_typed(client, login, pharmacist, subject, database, entered,
                                                       message):
    login(pharmacist)
    response = client.post(f"/subjects/{subject.id}/weights",
                           data={"weight": entered, "measured_on": clock.today().isoformat()})
    assert response.status_code == 422 and message in text(response)
    assert f'value="{entered}"' in text(response)
    assert count(database, BodyWeight) == 1


@pytest.mark.parametrize(("fixture", "status"), [("pharmacist", 302), ("qa_user", 403), ("admin", 403),
                                                  ("technician", 403)])
def test_only_pharmacy_records_an_order(request, client, login, subject, database, fixture, status):
    login(request.getfixturevalue(fixture))
    response = client.post(f"/subjects/{subject.id}/orders", data=order_form(subject))
    assert response.status_code == status
    assert count(database, InfusionOrder) == (1 if status == 302 else 0)


def test_the_order_form_proposes_the_next_infusion_and_its_level(client, login, pharmacist, subject):
    login(pharmacist)
    page = text(client.get(f"/subjects/{subject.id}"))
    assert 'name="infusion_number" required type="number" value="1"' in page
    assert '<option selected value="1">Level 1: 1 × 10⁶ cells/kg</option>' in page and "Level 2" not in page
    assert f'<option selected value="{subject.latest_weight.id}">64.5 kg weighed on' in page


def test_no_order_form_before_a_body_weight(client, login, pharmacist):
    subject = make_subject(pharmacist)
    login(pharmacist)
    page = text(client.get(f"/subjects/{subject.id}"))
    assert "Record a body weight first" in page and "no weight recorded" in page


def test_a_refused_order_is_shown_on_the_page_and_nothing_is_written(client, login, pharmacist, subject, database):
    login(pharmacist)
    later = (clock.today() + timedelta(days=20)).isoformat()
    response = client.post(f"/subjects/{subject.id}/orders", data=order_form(subject, planned_date=later))
    assert response.status_code == 422 and "days old on the planned date" in text(response)
    assert 'value="ORD-7"' in text(response)
    assert count(database, InfusionOrder) == 0


def test_an_order_form_error_is_shown_at_its_field(client, login, pharmacist, subject, database):
    login(pharmacist)
    response = client.post(f"/subjects/{subject.id}/orders", data=order_form(subject, prescriber=""))
    assert response.status_code == 422 and "This field is required." in text(response)
    assert count(database, InfusionOrder) == 0


def test_pharmacy_cancels_an_order_with_a_reason(client, login, pharmacist, subject, database):
    order = make_order(pharmacist, subject)
    login(pharmacist)
    url = f"/subjects/{subject.id}/orders/{order.id}/cancel"
    page = text(client.post(url, data={"reason": ""}, follow_redirects=True))
    assert "Reason for the change: This field is required." in page
    database.session.refresh(order)
    assert order.status is OrderStatus.OPEN
    page = text(client.post(url, data={"reason": "Postponed by the physician"}, follow_redirects=True))
    assert "Infusion order cancelled." in page and "Postponed by the physician" in page
    database.session.refresh(order)
    assert order.status is OrderStatus.CANCELLED


@pytest.mark.parametrize("fixture", ["qa_user", "admin", "technician"])
def test_only_pharmacy_may_cancel(request, client, login, pharmacist, subject, database, fixture):
    order = make_order(pharmacist, subject)
    login(request.getfixturevalue(fixture))
    response = client.post(f"/subjects/{subject.id}/orders/{order.id}/cancel", data={"reason": "No"})
    assert response.status_code == 403
    database.session.refresh(order)
    assert order.status is OrderStatus.OPEN


def test_an_order_of_another_subject_is_404(client, login, pharmacist, subject):
    order = make_order(pharmacist, subject)
    other = make_subject(pharmacist, "LAL2013-RM-002")
    login(pharmacist)
    assert client.post(f"/subjects/{other.id}/orders/{order.id}/cancel", data={"reason": "x"}).status_code == 404


def test_a_correction_needs_a_reason_on_the_page(client, login, qa_user, subject, database):
    login(qa_user)
    data = registration(subject_code=subject.subject_code, initials="MRD", date_of_birth="1958-05-20",
                        sex="MALE")
    response = client.post(f"/subjects/{subject.id}/correct", data=data | {"reason": ""})
    assert response.status_code == 422 and "This field is required." in text(response)
    database.session.refresh(subject)
    assert subject.initials == "MR"
    response = client.post(f"/subjects/{subject.id}/correct", data=data | {"reason": "Typing error"})
    assert response.status_code == 302
    database.session.refresh(subject)
    assert subject.initials == "MRD"
    event = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "subject.updated")).one()
    assert event.reason == "Typing error" and event.username == qa_user.username


@pytest.mark.parametrize("fixture", ["technician", "admin"])
def test_a_technician_or_the_administrator_cannot_correct_the_date_of_birth(request, client, login, subject,
                                                                           database, fixture):
    born = subject.date_of_birth
    login(request.getfixturevalue(fixture))
    data = registration(subject_code=subject.subject_code, initials=subject.initials, date_of_birth="1961-07-04",
                        reason="Corrected from the passport")
    assert client.post(f"/subjects/{subject.id}/correct", data=data).status_code == 403
    database.session.refresh(subject)
    assert subject.date_of_birth == born
    assert database.session.scalars(select(AuditEvent).where(AuditEvent.action == "subject.updated")).first() is None


def test_lots_and_dose_units_of_the_subject_are_listed(app, client, login, pharmacist, technician, subject):
    order = make_order(pharmacist, subject)
    lot = make_lot(technician, subject)
    make_dose_unit(technician, lot, order)
    login(technician)
    page = text(client.get(f"/subjects/{subject.id}"))
    assert "NK26-0001" in page and "A9999 26 000001" in page and "Received" in page
    assert "6.45 × 10⁷ cells" in page and "50.0 mL" in page and "Quarantine" in page
    link = f'href="/lots/{lot.id}"'
    assert (link in page) is ("lots.detail" in app.view_functions)
