"""Reading with a token: subjects, lots, steps, dose units, QC results, the audit trail; paged, with units."""

import pytest
from sqlalchemy import select

from manufacturing.quality import qc
from tests.api.conftest import bearer
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE, StepKind

PREPARED = SCHEDULE[StepKind.DOSE_PREPARATION]


def get(client, url, token, **params):
    response = client.get(url, headers=bearer(token), query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.json


def test_subjects_and_a_subject_with_its_lots(client, lot, service_token):
    page = get(client, "/api/v1/subjects", service_token)
    code = lot.subject.subject_code
    assert [subject["code"] for subject in page["items"]] == [code] and page["next_after"] is None
    weight = page["items"][0]["latest_weight"]
    assert weight["unit"] == "kilogram" and weight["value"] > 0
    subject = get(client, f"/api/v1/subjects/{code}", service_token)
    assert [entry["lot_number"] for entry in subject["lots"]] == [lot.lot_number]
    missing = client.get("/api/v1/subjects/NO-SUCH", headers=bearer(service_token))
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_lots_filtered_by_state_and_a_lot(client, lot, service_token):
    first = get(client, "/api/v1/lots", service_token, limit=1)
    assert [entry["id"] for entry in first["items"]] == [lot.id] and first["next_after"] is None
    assert get(client, "/api/v1/lots", service_token, state="DOSES_PREPARED")["items"][0]["id"] == lot.id
    assert get(client, "/api/v1/lots", service_token, state="CANCELLED")["items"] == []
    assert get(client, "/api/v1/lots", service_token, after=lot.id)["items"] == []
    shown = get(client, f"/api/v1/lots/{lot.id}", service_token)
    assert shown["lot_number"] == lot.lot_number and shown["spec_version"] == lot.spec_version
    assert shown["state"] == "DOSES_PREPARED" and shown["subject_code"] == lot.subject.subject_code
    for missing in (f"/api/v1/lots/{lot.id + 1000}", f"/api/v1/lots/{lot.id + 1000}/steps", "/api/v1/lots/0"):
        response = client.get(missing, headers=bearer(service_token))
        assert response.status_code == 404 and response.json["status"] == 404


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"after": "x"}, {"state": "NOWHERE"}])
def test_a_page_out_of_bounds_is_a_problem_naming_the_field(client, lot, service_token, params):
    response = client.get("/api/v1/lots", headers=bearer(service_token), query_string=params)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert [error["field"] for error in response.json["errors"]] == list(params)


def test_steps_give_entered_and_calculated_values_with_units(client, lot, service_token):
    steps = get(client, f"/api/v1/lots/{lot.id}/steps", service_token)["items"]
    assert steps[0]["kind"] == "APHERESIS_RECEIPT" and steps[-1]["kind"] == "DOSE_PREPARATION"
    values = [value for step in steps for value in step["values"]]
    measured = [value for value in values if value.get("unit")]
    assert measured and all(isinstance(value["value"], float) and value["entered"] for value in measured)
    assert any(value["unit"] == "cell / milliliter" for value in measured)
    calculated = [value for step in steps for value in step["calculated"]]
    assert any(value["key"] == "viable_nk" and value["unit"] == "cell" for value in calculated)


def test_dose_units_say_whether_they_are_fit_to_give_and_why_not(client, lot, service_token):
    units = get(client, f"/api/v1/lots/{lot.id}/dose-units", service_token)["items"]
    assert units and all(unit["fit_to_give"] is False and unit["not_fit_because"] for unit in units)
    assert units[0]["cells"]["unit"] == "cell" and units[0]["final_volume"]["unit"] == "milliliter"


def test_qc_results_are_judged_against_the_pinned_spec(client, database, lot, dose, bench, service_token):
    qc.record_result(lot, dose, "viability", "92 %", bench.at(PREPARED + 2), bench.technician, PASSWORD,
                     bench.technician.username)
    database.session.commit()
    results = get(client, f"/api/v1/lots/{lot.id}/qc-results", service_token)["items"]
    assert len(results) == 1
    result = results[0]
    assert (result["test_key"], result["dose_unit"], result["outcome"], result["status"]) == (
        "viability", dose.division_code, "pass", "RECORDED")
    assert result["value"]["unit"] == "percent" and result["value"]["value"] == 92.0 and result["entered"] == "92 %"


def test_the_audit_trail_is_filtered_as_on_its_page(client, lot, service_token):
    everything = get(client, "/api/v1/audit-events", service_token, limit=5)
    assert len(everything["items"]) == 5 and everything["next_after"] == everything["items"][-1]["id"]
    ids = [event["id"] for event in everything["items"]]
    assert ids == sorted(ids, reverse=True)
    following = get(client, "/api/v1/audit-events", service_token, limit=5, after=everything["next_after"])
    assert following["items"][0]["id"] < ids[-1]
    of_lot = get(client, "/api/v1/audit-events", service_token, entity="lot", entity_id=str(lot.id))
    assert of_lot["items"] and {event["entity_type"] for event in of_lot["items"]} == {"lot"}
    scoped = get(client, "/api/v1/audit-events", service_token, scope=f"lot:{lot.id}", action="step.")
    assert scoped["items"] and all(event["action"].startswith("step.") for event in scoped["items"])
    nobody = get(client, "/api/v1/audit-events", service_token, user="nobody")
    assert nobody["items"] == []
    today = get(client, "/api/v1/audit-events", service_token, date_from="2000-01-01", date_to="2030-12-31")
    assert today["items"]


def test_an_implausible_date_is_refused_as_on_the_page(client, lot, service_token):
    response = client.get("/api/v1/audit-events", headers=bearer(service_token),
                          query_string={"date_from": "0001-01-01"})
    assert response.status_code == 422 and response.json["errors"][0]["field"] == "date_from"


@pytest.mark.parametrize(("scopes", "url", "status"), [
    (("qc:write",), "/api/v1/lots", 403),
    (("read",), "/api/v1/audit-events", 403),
    (("audit:read",), "/api/v1/audit-events", 200),
])
def test_a_service_token_does_only_what_its_scopes_allow(client, database, admin, lot, scopes, url, status):
    from manufacturing.api import tokens

    issued = tokens.create_service(admin, "reader", scopes)
    database.session.commit()
    response = client.get(url, headers=bearer(issued.text))
    assert response.status_code == status
    if status == 403:
        assert "does not have the scope" in response.json["detail"]


@pytest.mark.parametrize(("who", "status"), [("qa", 200), ("technician", 403), ("pharmacist", 403)])
def test_a_personal_token_reads_the_trail_only_for_qa_and_administrators(client, bench, lot, personal_token,
                                                                         who, status):
    response = client.get("/api/v1/audit-events", headers=bearer(personal_token(getattr(bench, who))))
    assert response.status_code == status


def test_dispositions_and_stored_documents_of_a_released_unit(client, database, released_dose, service_token):
    from manufacturing.records import jobs
    from manufacturing.records.models import StoredDocument

    lot, dose = released_dose.lot, released_dose.dose
    while (job := jobs.claim_next()) is not None:  # the release's documents, stored as the worker stores them
        jobs.store_documents(job)
        database.session.commit()
    [decided] = get(client, f"/api/v1/lots/{lot.id}/dispositions", service_token)["items"]
    assert (decided["dose_unit"], decided["decision"], decided["decided_by"]) == (
        dose.division_code, "RELEASED_INTERIM", released_dose.bench.qa.username)
    listed = get(client, f"/api/v1/lots/{lot.id}/documents", service_token)["items"]
    stored = database.session.scalars(select(StoredDocument).where(StoredDocument.lot_id == lot.id)).all()
    assert {(item["kind"], item["revision"], item["sha256"]) for item in listed} == {
        (document.kind.name, document.revision, document.sha256) for document in stored}
    assert {"CERTIFICATE", "BATCH_RECORD"} <= {item["kind"] for item in listed}
