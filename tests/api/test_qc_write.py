"""Recording a QC result through the API: the QC page's operation, signed by a person, audited with the token."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.accounts.models import User
from manufacturing.api import tokens
from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.audit_verify import verify_chain
from manufacturing.core.signatures import Meaning, signatures_of
from manufacturing.quality.models import QcResult
from tests.api.conftest import bearer
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE, StepKind

PREPARED = SCHEDULE[StepKind.DOSE_PREPARATION]


def body(bench, dose, test_key="viability", entered="92 %", hours=2.0, **extra) -> dict:
    return {"test_key": test_key, "entered": entered, "tested_at": bench.at(PREPARED + hours).isoformat(),
            "dose_unit": dose.division_code if dose else None, "password": PASSWORD, **extra}


def post(client, lot, token_text, data, **options):
    return client.post(f"/api/v1/lots/{lot.id}/qc-results", json=data, headers=bearer(token_text), **options)


def results(database) -> int:
    return database.session.scalar(select(func.count()).select_from(QcResult))


def test_a_personal_token_records_a_signed_result_audited_with_the_token(client, database, bench, lot, dose,
                                                                        personal_token):
    token_text = personal_token(bench.technician)
    response = post(client, lot, token_text, body(bench, dose))
    assert response.status_code == 201, response.get_data(as_text=True)
    shown = response.json
    assert (shown["test_key"], shown["dose_unit"], shown["outcome"], shown["entered"]) == (
        "viability", dose.division_code, "pass", "92 %")
    result = database.session.get(QcResult, shown["id"])
    assert result.recorded_by_id == bench.technician.id
    assert [(s.meaning, s.signer_id) for s in signatures_of(result)] == [(Meaning.PERFORMED, bench.technician.id)]
    prefix = token_text.split("_")[1]
    created = database.session.scalar(select(AuditEvent).where(AuditEvent.action == "qc_result.created"))
    assert created.username == f"{bench.technician.username} (token {prefix})"
    assert created.user_id == bench.technician.id
    assert verify_chain(database.session).ok


def test_the_audit_trail_by_person_shows_their_acts_through_a_token(client, login, database, bench, lot, dose,
                                                                    personal_token):
    token_text = personal_token(bench.technician)
    assert post(client, lot, token_text, body(bench, dose)).status_code == 201
    prefix = token_text.split("_")[1]
    login(bench.qa)
    page = client.get("/audit/", query_string={"user": bench.technician.username}).get_data(as_text=True)
    assert f"{bench.technician.username} (token {prefix})" in page and "qc_result.created" in page
    other = client.get("/audit/", query_string={"user": bench.verifier.username}).get_data(as_text=True)
    assert f"(token {prefix})" not in other


def test_a_service_token_cannot_sign(client, database, bench, lot, dose, service_token, admin):
    response = post(client, lot, service_token, body(bench, dose))
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert response.json["detail"].startswith("A service token cannot sign")
    assert results(database) == 0


def test_the_service_s_reads_and_writes_name_the_token_and_its_owner(database, admin):
    issued = tokens.create_service(admin, "lims", ["read"])
    actor = tokens.actor(issued.token)
    assert actor.username == f"svc:lims (token {issued.token.prefix}, owner {admin.username})"
    assert actor.user_id == admin.id


def test_a_token_without_the_scope_cannot_write(client, database, bench, lot, dose, personal_token):
    response = post(client, lot, personal_token(bench.technician, ("read",)), body(bench, dose))
    assert response.status_code == 403 and "qc:write" in response.json["detail"]
    assert results(database) == 0


def test_a_wrong_password_signs_nothing_and_is_counted(client, database, bench, lot, dose, personal_token):
    response = post(client, lot, personal_token(bench.technician), body(bench, dose, password="wrong"))
    assert response.status_code == 403
    assert response.json["detail"] == "Password not accepted: the signature was not applied."
    assert results(database) == 0
    database.session.expire_all()
    assert database.session.get(User, bench.technician.id).failed_logins == 1
    failed = database.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.signature_failed"))
    assert failed is not None


def test_a_missing_password_is_asked_for(client, database, bench, lot, dose, personal_token):
    response = post(client, lot, personal_token(bench.technician), body(bench, dose, password=None))
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "password"
    database.session.expire_all()
    assert database.session.get(User, bench.technician.id).failed_logins == 0


def test_the_operation_s_guards_answer_in_the_page_s_words(client, database, bench, lot, dose, personal_token):
    pharmacist = post(client, lot, personal_token(bench.pharmacist), body(bench, dose))
    assert (pharmacist.status_code, pharmacist.json["detail"]) == (403, "Only technicians and QA record QC results.")
    token_text = personal_token(bench.technician)
    future = body(bench, dose, tested_at=(clock.now() + timedelta(days=1)).isoformat())
    response = post(client, lot, token_text, future)
    assert response.status_code == 422 and "is in the future" in response.json["detail"]
    lot_test = post(client, lot, token_text, body(bench, dose, test_key="mycoplasma", entered="negative"))
    assert lot_test.status_code == 422 and "enter it without a dose unit" in lot_test.json["detail"]
    assert post(client, lot, token_text, body(bench, dose)).status_code == 201
    again = post(client, lot, token_text, body(bench, dose, hours=3))
    assert again.status_code == 409 and "already has a result" in again.json["detail"]
    unknown = post(client, lot, token_text, body(bench, None, dose_unit="Z9"))
    assert unknown.status_code == 422 and unknown.json["detail"] == f"Lot {lot.lot_number} has no dose unit Z9."
    assert results(database) == 1


@pytest.mark.parametrize(("data", "fields"), [
    ({}, ["test_key", "entered", "tested_at"]),
    ({"test_key": "viability", "entered": "92 %", "tested_at": "2026-01-01T10:00:00"}, ["tested_at"]),
    ({"test_key": "viability", "entered": "92\u202e %", "tested_at": "2026-01-01T10:00:00Z"}, ["entered"]),
    ({"test_key": "viability", "entered": "92 %", "tested_at": "2026-01-01T10:00:00Z", "extra": 1}, ["extra"]),
])
def test_invalid_fields_are_each_named(client, database, bench, lot, personal_token, data, fields):
    response = post(client, lot, personal_token(bench.technician), data)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert set(response.json) >= {"type", "title", "status", "detail", "instance"}
    assert response.json["instance"] == f"/api/v1/lots/{lot.id}/qc-results"
    assert [error["field"] for error in response.json["errors"]] == fields


def test_a_body_that_is_not_json_is_refused(client, bench, lot, personal_token):
    token_text = personal_token(bench.technician)
    form = client.post(f"/api/v1/lots/{lot.id}/qc-results", data={"test_key": "x"}, headers=bearer(token_text))
    assert form.status_code == 415 and form.mimetype == "application/problem+json"
    broken = client.post(f"/api/v1/lots/{lot.id}/qc-results", data="{", content_type="application/json",
                         headers=bearer(token_text))
    assert broken.status_code == 400


def test_no_csrf_token_is_needed_with_a_bearer_token(app, client, bench, lot, dose, personal_token):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = post(client, lot, personal_token(bench.technician), body(bench, dose))
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 201


def test_a_login_cookie_alone_opens_nothing(client, login, database, bench, lot, dose):
    login(bench.technician)
    assert client.get(f"/qc/lots/{lot.id}").status_code == 200  # the session is good for the pages
    response = client.post(f"/api/v1/lots/{lot.id}/qc-results", json=body(bench, dose))
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert client.get("/api/v1/lots").status_code == 401
    assert results(database) == 0


def test_a_wrong_method_is_a_problem_too(client, lot, service_token):
    response = client.delete(f"/api/v1/lots/{lot.id}", headers=bearer(service_token))
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]


def test_the_rest_of_the_site_keeps_its_pages(client, login, technician):
    login(technician)
    response = client.get("/no-such-page")
    assert response.status_code == 404 and response.mimetype == "text/html"
