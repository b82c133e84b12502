"""Deviations: opened at the bench, assessed and closed by QA with a signature."""

import pytest
from sqlalchemy import select

from manufacturing.core.audit import AuditEvent
from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence, SignatureError
from manufacturing.core.signatures import Meaning, signatures_of
from manufacturing.processing.models import StepKind
from manufacturing.processing.operations import lot_steps
from manufacturing.quality import operations
from manufacturing.quality.models import DeviationClass, DeviationStatus
from tests.factories import PASSWORD


@pytest.fixture
def lot(bench):
    return bench.lot_through(StepKind.CD3_DEPLETION)


@pytest.fixture
def deviation(database, bench, lot):
    opened = operations.open_deviation(lot, bench.technician, DeviationClass.MINOR, "Late sampling",
                                       "QC sample taken 40 min late", "Noted on the record", lot_steps(lot)[1])
    database.session.commit()
    return opened


def test_numbered_and_linked_to_lot_and_step(deviation, lot):
    assert deviation.number.startswith("DEV-") and deviation.number.endswith("-0001")
    assert deviation.lot_id == lot.id and deviation.status == DeviationStatus.OPEN


def test_blank_description_is_refused(database, bench, lot):
    with pytest.raises(DomainError, match="The description is required"):
        operations.open_deviation(lot, bench.technician, DeviationClass.MINOR, "Title", " ", "Action")


def test_pharmacy_does_not_open_deviations(database, bench, lot):
    with pytest.raises(NotPermitted):
        operations.open_deviation(lot, bench.pharmacist, DeviationClass.MINOR, "T", "D", "A")


def test_closing_needs_qa_an_assessment_and_a_signature(database, bench, deviation):
    with pytest.raises(NotPermitted):
        operations.close(deviation, bench.technician, PASSWORD, bench.technician.username)
    with pytest.raises(OutOfSequence, match="impact assessment"):
        operations.close(deviation, bench.qa, PASSWORD, bench.qa.username)
    operations.assess(deviation, bench.qa, "Sample stability covers 2 h; no impact.", affects_product=False)
    database.session.commit()
    with pytest.raises(SignatureError):
        operations.close(deviation, bench.qa, "wrong", bench.qa.username)
    database.session.rollback()
    operations.close(deviation, bench.qa, PASSWORD, bench.qa.username)
    database.session.commit()
    assert deviation.status == DeviationStatus.CLOSED
    assert [s.meaning for s in signatures_of(deviation)] == [Meaning.CLOSED]


def test_changing_an_assessment_needs_a_reason(database, bench, deviation):
    operations.assess(deviation, bench.qa, "No impact.", affects_product=False)
    database.session.commit()
    with pytest.raises(DomainError, match="reason"):
        operations.assess(deviation, bench.qa, "Impact after all.", affects_product=True)
    database.session.rollback()
    operations.assess(deviation, bench.qa, "Impact after all.", True, reason="New stability data")
    database.session.commit()
    event = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "deviation.updated")
                                     .order_by(AuditEvent.id)).all()[-1]
    assert event.reason == "New stability data"


def test_pages(client, login, bench, deviation, lot):
    login(bench.technician)
    assert deviation.number in client.get("/deviations/").get_data(as_text=True)
    assert "QC sample taken 40 min late" in client.get(f"/deviations/{deviation.id}").get_data(as_text=True)
    assert client.post(f"/deviations/{deviation.id}/assess", data={}).status_code == 403
    response = client.post(f"/deviations/new/{lot.id}", data={
        "classification": "MAJOR", "title": "Leak", "description": "Bag leak seen", "immediate_action": "Clamped"})
    assert response.status_code == 302
    login(bench.qa)
    client.post(f"/deviations/{deviation.id}/assess", data={"impact_assessment": "None", "affects_product": "no"})
    client.post(f"/deviations/{deviation.id}/close", data={"sign_username": bench.qa.username,
                                                            "sign_password": PASSWORD})
    database_state = client.get(f"/deviations/{deviation.id}").get_data(as_text=True)
    assert "Closed" in database_state and "Quinta Qualita (qa.one) · Closed" in database_state
