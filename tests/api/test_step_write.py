"""Recording steps through the API, typed or from an instrument export: the pages' operations, signed by a person."""

import base64
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.audit_verify import verify_chain
from manufacturing.instruments import operations
from manufacturing.instruments.models import InstrumentFile
from manufacturing.instruments.readings import read_export
from manufacturing.processing.models import ProcessStep, StepKind
from tests.api.conftest import bearer
from tests.factories import PASSWORD
from tests.instruments.exports import vi_cell_blu_export
from tests.processing.factories import SCHEDULE

SCOPES = ("read", "steps:write")


@pytest.fixture
def cultured(bench):
    """A lot through culture day 0, verified; the time of its culture day 5."""
    return bench.lot_through(StepKind.CULTURE_DAY0), bench.at(SCHEDULE[StepKind.CULTURE_DAY0] + 24 * 5)


def _typed(bench, at, **values) -> dict:
    given = bench.step_input(StepKind.CULTURE_DAY, at, **values)
    return {"performed_at": at.isoformat(), "values": given.values, "materials": given.materials,
            "equipment": given.equipment, "password": PASSWORD}


def _count(model) -> int:
    from manufacturing.extensions import db

    return db.session.scalar(select(func.count()).select_from(model))


def test_a_personal_token_records_a_typed_culture_day(client, database, bench, cultured, personal_token):
    lot, at = cultured
    token_text = personal_token(bench.technician, SCOPES)
    with clock.frozen(at + timedelta(minutes=10)):
        response = client.post(f"/api/v1/lots/{lot.id}/steps/culture-day", json=_typed(bench, at),
                               headers=bearer(token_text))
    assert response.status_code == 201, response.get_data(as_text=True)
    values = {value["key"]: value for value in response.json["values"]}
    assert values["concentration"]["entered"] == "1.8 x 10^6 cells/mL"
    created = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "step.created")
                                       .order_by(AuditEvent.id.desc())).first()
    assert created.username.endswith(f"(token {token_text.split('_')[1]})")
    assert verify_chain(database.session).ok


def test_a_bare_number_through_the_api_is_refused_as_no_page_printed_its_unit(client, database, bench, cultured,
                                                                             personal_token):
    """0.93 meant as 93 % would be stored as 0.93 %: the API, like every page that prints no unit, asks for it."""
    lot, at = cultured
    token_text = personal_token(bench.technician, SCOPES)
    steps = _count(ProcessStep)
    with clock.frozen(at + timedelta(minutes=10)):
        response = client.post(f"/api/v1/lots/{lot.id}/steps/culture-day", json=_typed(bench, at, viability="0.93"),
                               headers=bearer(token_text))
    assert response.status_code == 422 and "add the unit" in response.json["detail"]
    assert _count(ProcessStep) == steps


def test_a_service_token_cannot_sign_a_step(client, database, bench, cultured, admin):
    from manufacturing.api import tokens

    lot, at = cultured
    service = tokens.create_service(admin, "lims", SCOPES).text
    database.session.commit()
    steps = _count(ProcessStep)
    response = client.post(f"/api/v1/lots/{lot.id}/steps/culture-day", json=_typed(bench, at),
                           headers=bearer(service))
    assert response.status_code == 403 and response.json["detail"].startswith("A service token cannot sign")
    assert _count(ProcessStep) == steps


@pytest.fixture
def moved_to(monkeypatch):
    """Read exports for real, their analysis moved to the time a test gives."""
    def move(analysed):
        def read(name, content):
            export = read_export(name, content)
            return replace(export, samples=tuple(replace(sample, analysed_at=analysed) for sample in export.samples))

        monkeypatch.setattr(operations, "read_export", read)

    return move


def _import_body(bench, at, content: bytes, row=0) -> dict:
    body = _typed(bench, at, concentration="", viability="")
    body["values"] = {key: text for key, text in body["values"].items() if text}
    return body | {"file_name": "vi-cell-blu.csv", "file_base64": base64.b64encode(content).decode(), "sample_row": row}


def test_a_vi_cell_blu_export_lands_through_the_api(client, database, bench, cultured, personal_token, moved_to):
    lot, at = cultured
    moved_to(at + timedelta(minutes=2))
    token_text = personal_token(bench.technician, SCOPES)
    content = vi_cell_blu_export(sample_id=f"{lot.lot_number}-D5")
    with clock.frozen(at + timedelta(minutes=10)):
        response = client.post(f"/api/v1/lots/{lot.id}/steps/culture-day/imports",
                               json=_import_body(bench, at, content), headers=bearer(token_text))
    assert response.status_code == 201, response.get_data(as_text=True)
    values = {value["key"]: value for value in response.json["values"]}
    assert values["viable_concentration"]["value"] == 690000.0
    [kept] = database.session.scalars(select(InstrumentFile)).all()
    assert kept.content == content and kept.filename == "vi-cell-blu.csv"
    assert verify_chain(database.session).ok


@pytest.mark.parametrize(("content", "message"), [
    (vi_cell_blu_export(sample_id="NK-2020-0999-D5"), "does not name lot"),
    (b"not an export at all", "could not be read as")])
def test_a_refused_import_is_a_problem_and_stores_nothing(client, database, bench, cultured, personal_token,
                                                          moved_to, content, message):
    lot, at = cultured
    moved_to(at + timedelta(minutes=2))
    token_text = personal_token(bench.technician, SCOPES)
    steps = _count(ProcessStep)
    with clock.frozen(at + timedelta(minutes=10)):
        response = client.post(f"/api/v1/lots/{lot.id}/steps/culture-day/imports",
                               json=_import_body(bench, at, content), headers=bearer(token_text))
    assert response.status_code in (409, 422) and response.mimetype == "application/problem+json"
    assert message in response.json["detail"]
    assert (_count(ProcessStep), _count(InstrumentFile)) == (steps, 0)


def test_invalid_base64_is_a_problem(client, database, bench, cultured, personal_token):
    lot, at = cultured
    body = _import_body(bench, at, b"x") | {"file_base64": "%%%"}
    response = client.post(f"/api/v1/lots/{lot.id}/steps/culture-day/imports", json=body,
                           headers=bearer(personal_token(bench.technician, SCOPES)))
    assert response.status_code == 422 and "base64" in response.json["detail"]
