"""Subjects, body weights and infusion orders, tested on the operations."""

import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.errors import DomainError, NotPermitted, ReasonRequired
from manufacturing.patients import operations
from manufacturing.patients.demo import DEMO_SUBJECTS, register
from manufacturing.patients.models import OrderStatus, Subject
from manufacturing.specifications import registry
from manufacturing.units import QuantityError
from tests.patients.factories import (
    acting,
    add_weight,
    details,
    make_dose_unit,
    make_lot,
    make_order,
    make_subject,
    order_entry,
)

SPECS = Path(__file__).resolve().parents[2] / "specs"
TODAY = date(2026, 3, 10)


@pytest.fixture(autouse=True)
def frozen_day():
    """Every test runs on 10 March 2026, 11:00 in Rome."""
    with clock.frozen(datetime(2026, 3, 10, 10, 0, tzinfo=UTC)):
        yield


@pytest.fixture
def subject(pharmacist):
    return make_subject(pharmacist)


@pytest.fixture
def weighed(pharmacist, subject):
    add_weight(pharmacist, subject, "64.5 kg", days_ago=1)
    return subject


def events(database, action: str) -> list[AuditEvent]:
    return database.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


# ---- subjects --------------------------------------------------------------------------------


def test_a_scanned_subject_id_is_trimmed_and_upper_cased(database, pharmacist):
    subject = make_subject(pharmacist, "  lal2013-rm-009\r\n", initials="m.r.")
    assert (subject.subject_code, subject.initials) == ("LAL2013-RM-009", "MR")
    assert operations.find_subject("lal2013-rm-009 ") is subject
    created = events(database, "subject.created")[0]
    assert created.username == pharmacist.username and created.scope == f"subject:{subject.id}"


def test_a_subject_id_is_registered_once(database, pharmacist, subject):
    with pytest.raises(DomainError, match="LAL2013-RM-001 is already registered"):
        operations.register_subject(pharmacist, details("lal2013-rm-001"))


def test_a_minor_is_refused_at_registration(database, qa_user):
    with pytest.raises(DomainError, match="17 years old: the study enrols adults only"):
        operations.register_subject(qa_user, details(date_of_birth=date(2008, 6, 1)))


@pytest.mark.parametrize("fixture", ["pharmacist", "qa_user"])
def test_pharmacy_and_qa_register_subjects(request, database, fixture):
    assert make_subject(request.getfixturevalue(fixture)).id


@pytest.mark.parametrize("fixture", ["technician", "admin"])
def test_a_technician_or_the_administrator_cannot_register_a_subject(request, database, fixture):
    with pytest.raises(NotPermitted):
        operations.register_subject(request.getfixturevalue(fixture), details())


def test_a_correction_needs_a_reason(database, qa_user, subject):
    with pytest.raises(ReasonRequired, match="Give a reason for correcting"):
        operations.correct_subject(qa_user, subject, details(initials="MRD"), "  ")


def test_a_correction_is_audited_with_old_and_new_values_and_its_reason(database, qa_user, subject):
    acting(qa_user)
    operations.correct_subject(qa_user, subject, details(initials="MRD", site="Rome, S. Eugenio"),
                               "Transcription error on the enrolment form")
    database.session.commit()
    event = events(database, "subject.updated")[0]
    assert event.reason == "Transcription error on the enrolment form" and event.username == qa_user.username
    changes = json.loads(event.changes)
    assert changes["initials"] == {"old": "MR", "new": "MRD"}
    assert changes["site"]["new"] == "Rome, S. Eugenio"


def test_a_correction_that_changes_nothing_is_refused(database, qa_user, subject):
    with pytest.raises(DomainError, match="Nothing to correct"):
        operations.correct_subject(qa_user, subject, details(subject_code=" lal2013-rm-001"), "check")


def test_the_subject_id_is_not_corrected_once_a_lot_carries_it(database, qa_user, technician, subject):
    make_lot(technician, subject)
    with pytest.raises(DomainError, match="on the labels of lot NK26-0001"):
        operations.correct_subject(qa_user, subject, details("LAL2013-RM-002"), "Wrong ID")


def test_the_subject_id_is_corrected_before_any_lot(database, qa_user, subject):
    operations.correct_subject(qa_user, subject, details("LAL2013-RM-002"), "Wrong ID scanned")
    assert subject.subject_code == "LAL2013-RM-002"


def test_a_correction_cannot_take_another_subjects_id(database, qa_user, pharmacist, subject):
    make_subject(pharmacist, "LAL2013-RM-002")
    with pytest.raises(DomainError, match="LAL2013-RM-002 is already registered"):
        operations.correct_subject(qa_user, subject, details("LAL2013-RM-002"), "Wrong ID")


# ---- body weights ----------------------------------------------------------------------------


def test_a_body_weight_keeps_the_text_as_typed(database, pharmacist, subject):
    weight = add_weight(pharmacist, subject, "64500 g", days_ago=0)
    assert weight.entered == "64500 g" and weight.weight.m_as("kg") == pytest.approx(64.5)
    assert str(weight.weight.units) == "kilogram" and weight.measured_on == TODAY
    assert events(database, "body_weight.created")[0].scope == f"subject:{subject.id}"


@pytest.mark.parametrize(("entered", "error", "message"), [
    ("645 kg", DomainError, "645 kg is outside the plausible range for an adult"),
    ("64.5 mL", QuantityError, "64.5 mL is a volume, but a mass (kg) is expected here"),
    ("64.5", QuantityError, "add the unit"),
    ("sixty kg", QuantityError, "does not start with a number"),
])
def test_body_weights_refused(database, pharmacist, subject, entered, error, message):
    with pytest.raises(error, match=re.escape(message)):
        operations.record_body_weight(pharmacist, subject, entered, TODAY)


def test_a_weighing_date_in_the_future_is_refused(database, pharmacist, subject):
    with pytest.raises(DomainError, match="is in the future"):
        operations.record_body_weight(pharmacist, subject, "64.5 kg", TODAY + timedelta(days=1))


@pytest.mark.parametrize(("fixture", "allowed"), [("pharmacist", True), ("qa_user", True), ("admin", False),
                                                  ("technician", False)])
def test_who_records_body_weights(request, database, subject, fixture, allowed):
    user = request.getfixturevalue(fixture)
    if allowed:
        assert operations.record_body_weight(user, subject, "64.5 kg", TODAY).id
    else:
        with pytest.raises(NotPermitted):
            operations.record_body_weight(user, subject, "64.5 kg", TODAY)


# ---- infusion orders -------------------------------------------------------------------------


def test_the_first_order_pins_the_study_specification(database, pharmacist, weighed):
    order = make_order(pharmacist, weighed)
    spec = registry.study_spec()
    assert (order.infusion_number, order.status, order.planned_date) == (1, OrderStatus.OPEN, TODAY + timedelta(1))
    assert order.dose_per_kg.m_as("cell/kg") == 1e6 and order.body_weight.entered == "64.5 kg"
    assert (order.study_spec_id, order.study_spec_version, order.study_spec_hash) == (
        spec.id, spec.version, spec.content_hash)
    assert events(database, "infusion_order.created")[0].scope == f"subject:{weighed.id}"


@pytest.mark.parametrize("fixture", ["qa_user", "admin", "technician"])
def test_only_pharmacy_records_orders(request, database, weighed, fixture):
    with pytest.raises(NotPermitted, match="Only pharmacy records infusion orders"):
        operations.record_order(request.getfixturevalue(fixture), weighed, order_entry(weighed))


@pytest.mark.parametrize(("changes", "message"), [
    ({"infusion_number": 2, "dose_level": 1}, "Infusion 2 would skip infusion 1"),
    ({"dose_level": 2}, "3.16 × 10⁶ cells/kg cannot be ordered for infusion 1"),
    ({"dose_level": 9}, "The study schedule has no dose level 9."),
    ({"planned_date": TODAY - timedelta(days=1)}, "The planned date 2026-03-09 is in the past."),
    ({"planned_date": TODAY + timedelta(days=14)}, "is 15 days old on the planned date 2026-03-24"),
    ({"prescriber": "  "}, "Give the prescribing physician and the order reference."),
])
def test_orders_refused(database, pharmacist, weighed, changes, message):
    with pytest.raises(DomainError, match=re.escape(message)):
        operations.record_order(pharmacist, weighed, order_entry(weighed, **changes))


def test_a_weight_of_another_subject_is_refused(database, pharmacist, weighed):
    other = make_subject(pharmacist, "LAL2013-RM-002")
    foreign = add_weight(pharmacist, other, "70 kg")
    with pytest.raises(DomainError, match="Choose one of this subject's body weights"):
        operations.record_order(pharmacist, weighed, order_entry(weighed, body_weight_id=foreign.id))


def test_the_weight_age_limit_comes_from_the_product_specification(app, database, pharmacist, weighed, tmp_path,
                                                                     monkeypatch):
    old_weight = add_weight(pharmacist, weighed, "63 kg", days_ago=20)
    with pytest.raises(DomainError, match="at most 14 days are allowed"):
        operations.record_order(pharmacist, weighed, order_entry(weighed, body_weight_id=old_weight.id))
    database.session.rollback()
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    product = specs / "nk-cells-autologous.toml"
    text = product.read_text().replace('action_above = "14 d"', 'action_above = "21 d"', 1)
    product.write_text(text.replace('version = "1.1"', 'version = "1.2"', 1))
    monkeypatch.setitem(app.config, "SPECS_DIR", str(specs))
    assert operations.record_order(pharmacist, weighed, order_entry(weighed, body_weight_id=old_weight.id)).id


def test_the_second_infusion_waits_the_studys_interval(database, pharmacist, weighed):
    first = make_order(pharmacist, weighed)
    clock.advance(timedelta(days=20))
    add_weight(pharmacist, weighed, "64 kg", days_ago=0)
    too_soon = first.planned_date + timedelta(days=27)
    with pytest.raises(DomainError, match="cannot be before 2026-04-08: at least 28 days after infusion 1"):
        operations.record_order(pharmacist, weighed, order_entry(weighed, planned_date=too_soon))
    database.session.rollback()
    second = make_order(pharmacist, weighed, planned_date=too_soon + timedelta(days=1))
    assert (second.infusion_number, second.dose_per_kg.m_as("cell/kg")) == (2, 3.16e6)


def test_an_infusion_is_not_ordered_twice(database, pharmacist, weighed):
    make_order(pharmacist, weighed)
    with pytest.raises(DomainError, match="Infusion 1 is already ordered; the next one is infusion 2"):
        operations.record_order(pharmacist, weighed, order_entry(weighed, infusion_number=1))


def test_after_a_lower_level_escalation_resumes_by_one_step(database, pharmacist, weighed):
    make_order(pharmacist, weighed)
    clock.advance(timedelta(days=28))
    add_weight(pharmacist, weighed, "64 kg", days_ago=0)
    make_order(pharmacist, weighed, dose_level=1, planned_date=clock.today() + timedelta(days=1))
    clock.advance(timedelta(days=28))
    add_weight(pharmacist, weighed, "63.5 kg", days_ago=0)
    with pytest.raises(DomainError, match="1 × 10⁷ cells/kg cannot be ordered for infusion 3"):
        operations.record_order(pharmacist, weighed, order_entry(weighed, dose_level=3))
    database.session.rollback()
    assert make_order(pharmacist, weighed, dose_level=2).dose_per_kg.m_as("cell/kg") == 3.16e6


def test_cancelling_needs_a_reason_and_is_audited(database, pharmacist, weighed):
    order = make_order(pharmacist, weighed)
    with pytest.raises(ReasonRequired, match="Give a reason for cancelling the order"):
        operations.cancel_order(pharmacist, order, "")
    database.session.rollback()
    acting(pharmacist)
    operations.cancel_order(pharmacist, order, "Infusion postponed by the physician")
    database.session.commit()
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "Infusion postponed by the physician")
    event = events(database, "infusion_order.updated")[0]
    assert event.reason == "Infusion postponed by the physician"
    assert json.loads(event.changes)["status"] == {"old": "OPEN", "new": "CANCELLED"}


def test_a_cancelled_order_cannot_be_cancelled_again(database, pharmacist, weighed):
    order = make_order(pharmacist, weighed)
    operations.cancel_order(pharmacist, order, "Postponed")
    with pytest.raises(DomainError, match="Infusion 1 is cancelled: only an open order can be cancelled"):
        operations.cancel_order(pharmacist, order, "Again")


def test_an_order_with_a_dose_unit_cannot_be_cancelled(database, pharmacist, technician, weighed):
    order = make_order(pharmacist, weighed)
    make_dose_unit(technician, make_lot(technician, weighed), order)
    with pytest.raises(DomainError, match="Infusion 1 has 1 dose unit"):
        operations.cancel_order(pharmacist, order, "Postponed")


def test_an_order_with_a_later_order_cannot_be_cancelled(database, pharmacist, weighed):
    first = make_order(pharmacist, weighed)
    clock.advance(timedelta(days=28))
    add_weight(pharmacist, weighed, "64 kg", days_ago=0)
    make_order(pharmacist, weighed)
    with pytest.raises(DomainError, match="cancel infusion 2 first"):
        operations.cancel_order(pharmacist, first, "Postponed")


def test_only_pharmacy_cancels_orders(database, pharmacist, qa_user, weighed):
    order = make_order(pharmacist, weighed)
    with pytest.raises(NotPermitted):
        operations.cancel_order(qa_user, order, "Postponed")


def test_a_cancelled_infusion_can_be_ordered_again(database, pharmacist, weighed):
    """A typo in an order is put right by cancelling it and ordering the same infusion again."""
    cancelled = make_order(pharmacist, weighed)
    operations.cancel_order(pharmacist, cancelled, "Wrong dose typed")
    database.session.commit()
    database.session.refresh(weighed)
    again = operations.record_order(pharmacist, weighed, order_entry(weighed))
    database.session.commit()
    assert again.infusion_number == cancelled.infusion_number == 1 and again.id != cancelled.id
    with pytest.raises(DomainError):
        operations.record_order(pharmacist, weighed, order_entry(weighed, infusion_number=1))


# ---- demo ------------------------------------------------------------------------------------


def test_demo_subjects_are_made_through_the_operations(database, pharmacist):
    acting(pharmacist)
    subjects = {code: register(pharmacist, code) for code in DEMO_SUBJECTS}
    database.session.commit()
    assert sorted(subjects) == [f"LAL2013-RM-00{number}" for number in range(1, 7)]
    assert len(database.session.scalars(select(Subject)).all()) == 6
    assert all(subject.weights for subject in subjects.values())
    assert subjects["LAL2013-RM-004"].latest_weight.entered == "64.5 kg"
