"""The step pages: who may see and post, refusals shown on the page with the entered text kept."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.lots.models import Lot
from manufacturing.processing.models import StepKind, StepStatus
from manufacturing.processing.operations import lot_steps
from tests.factories import PASSWORD


def form_data(bench, kind, at, **values):
    """What the browser posts for a step: values, materials, equipment, time and signature."""
    given = bench.step_input(kind, at, **values)
    data = {f"v_{key}": value for key, value in given.values.items()}
    from manufacturing.processing.kinds import definition

    step_definition = definition(kind)
    data |= {f"m_{i}": str(given.materials[use.role]) for i, use in enumerate(step_definition.materials)}
    data |= {f"e_{i}": str(given.equipment[use.role]) for i, use in enumerate(step_definition.equipment)}
    data |= {"performed_at": clock.to_local(at).strftime("%Y-%m-%dT%H:%M"),
             "sign_username": bench.technician.username, "sign_password": PASSWORD}
    if data.get("v_label_check") == "yes":
        data["v_label_check"] = "y"
    return data


@pytest.mark.parametrize(("who", "status"), [("technician", 200), ("qa", 403), ("pharmacist", 403)])
def test_receipt_form_is_for_technicians(client, login, bench, who, status):
    login(getattr(bench, who))
    assert client.get("/lots/receive").status_code == status


def test_receipt_through_the_page_opens_a_lot(client, login, bench, database):
    login(bench.technician)
    with clock.frozen(bench.at(0)):
        data = form_data(bench, StepKind.APHERESIS_RECEIPT, bench.at(0))
        response = client.post("/lots/receive", data={**data, "subject_code": "lal2013-rm-001 ",
                                                      "din": "G1234 26 000123 " + _check()})
    assert response.status_code == 302
    lot = database.session.scalars(select(Lot)).one()
    assert response.headers["Location"] == f"/lots/{lot.id}"


def _check() -> str:
    from manufacturing.lots.din import check_character

    return check_character("G123426000123")


def test_refused_receipt_keeps_the_entered_text_and_says_why(client, login, bench, database):
    login(bench.technician)
    with clock.frozen(bench.at(0)):
        data = form_data(bench, StepKind.APHERESIS_RECEIPT, bench.at(0), viability="96 mL")
        response = client.post("/lots/receive", data={**data, "subject_code": "LAL2013-RM-001",
                                                      "din": "G123426000123A"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "check character" in page and 'value="96 mL"' in page
    assert database.session.scalar(select(func.count()).select_from(Lot)) == 0


def test_verify_through_the_page(client, login, bench, database):
    lot = bench.receive()
    step = lot_steps(lot)[0]
    login(bench.verifier)
    with clock.frozen(bench.at(0.5)):
        response = client.post(f"/lots/{lot.id}/steps/{step.id}/verify",
                               data={"sign_username": bench.verifier.username, "sign_password": PASSWORD})
    assert response.status_code == 302
    database.session.refresh(step)
    assert step.status == StepStatus.VERIFIED


def test_performer_verifying_is_refused_on_the_page(client, login, bench, database):
    lot = bench.receive()
    step = lot_steps(lot)[0]
    login(bench.technician)
    with clock.frozen(bench.at(0.5)):
        page = client.post(f"/lots/{lot.id}/steps/{step.id}/verify", follow_redirects=True,
                           data={"sign_username": bench.technician.username, "sign_password": PASSWORD})
    assert "a second technician must verify it" in page.get_data(as_text=True)
    database.session.refresh(step)
    assert step.status == StepStatus.PERFORMED


def test_record_and_correct_pages(client, login, bench, database):
    lot = bench.lot_through(StepKind.APHERESIS_RECEIPT)
    login(bench.technician)
    at = bench.at(3)
    with clock.frozen(at):
        assert client.get(f"/lots/{lot.id}/steps/cd3-depletion/new").status_code == 200
        response = client.post(f"/lots/{lot.id}/steps/cd3-depletion/new",
                               data=form_data(bench, StepKind.CD3_DEPLETION, at))
    assert response.status_code == 302
    step = lot_steps(lot)[1]
    with clock.frozen(at + timedelta(hours=1)):
        page = client.get(f"/lots/{lot.id}/steps/{step.id}/correct").get_data(as_text=True)
        assert 'value="95 %"' in page
        data = form_data(bench, StepKind.CD3_DEPLETION, at, viability="94 %") | {"reason": "Typo"}
        response = client.post(f"/lots/{lot.id}/steps/{step.id}/correct", data=data)
    assert response.status_code == 302
    database.session.refresh(step)
    assert step.value("viability").entered == "94 %"


def test_hold_needs_a_reason_and_qa_lifts_it(client, login, bench, database):
    lot = bench.receive()
    login(bench.technician)
    page = client.post(f"/lots/{lot.id}/hold", data={"reason": ""}, follow_redirects=True).get_data(as_text=True)
    assert "Give a reason" in page
    client.post(f"/lots/{lot.id}/hold", data={"reason": "Label smudged"})
    database.session.refresh(lot)
    assert lot.state.name == "ON_HOLD"
    client.post(f"/lots/{lot.id}/lift-hold", data={"reason": "Checked"})
    database.session.refresh(lot)
    assert lot.state.name == "ON_HOLD"
