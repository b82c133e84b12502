"""Issue, bedside check, administration and return, through the operations: every refusal writes nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent, set_reason
from manufacturing.core.errors import NotPermitted
from manufacturing.core.signatures import Meaning, is_intact, signatures_of
from manufacturing.dispensing import operations, queries
from manufacturing.dispensing.models import Administration, BedsideCheck, Issue
from manufacturing.extensions import db
from manufacturing.patients.models import OrderStatus
from manufacturing.patients.operations import administered_dates
from manufacturing.processing.models import DoseState
from manufacturing.units import Q_
from tests.dispensing.factories import (
    KEYBOARD,
    OTHER_DIN,
    administer,
    check,
    done,
    give,
    issue,
    refused,
    set_up_ward,
)
from tests.factories import PASSWORD
from tests.patients.factories import add_weight, make_order, make_subject


@pytest.fixture
def ward(database, technician, verifier, qa_user, pharmacist):
    return set_up_ward(technician, verifier, qa_user, pharmacist)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def mismatch_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == queries.MISMATCH)))


def assert_not_issued(ward, dose=None):
    dose = dose or ward.fresh
    db.session.refresh(dose)
    assert queries.issue_of(dose) is None
    assert dose.state == DoseState.RELEASED and dose.infusion_order_id is None


# ---- issue ---------------------------------------------------------------------------------------

def test_issue_links_the_order_recomputes_the_dose_and_signs(ward):
    issued = done(ward.pharmacist, issue, ward)
    assert ward.fresh.state == DoseState.ISSUED and ward.fresh.infusion_order_id == ward.order.id
    assert issued.dose_per_kg.m_as("cell/kg") == pytest.approx(1e6)
    assert abs(issued.dose_deviation.m_as("percent")) < 1e-6
    assert issued.thawed_at is None and issued.use_by == ward.fresh.expiry_at
    assert issued.collector_name == "Nurse Lucia Bianchi"
    [signature] = signatures_of(issued)
    assert signature.meaning == Meaning.ISSUED and is_intact(signature, issued)


def test_a_frozen_unit_is_thawed_at_issue_and_keeps_four_hours(ward):
    give(ward)
    with clock.frozen(clock.now() + timedelta(days=29)):
        add_weight(ward.pharmacist, ward.bench.subject, "64.0 kg", days_ago=0)
        order = make_order(ward.pharmacist, ward.bench.subject)
        with clock.frozen(order.planned_date and clock.now() + timedelta(days=1)):
            issued = done(ward.pharmacist, issue, ward, ward.frozen, order)
            assert issued.thawed_at == clock.now() and issued.use_by == clock.now() + timedelta(hours=4)
    assert issued.dose_per_kg.m_as("cell/kg") == pytest.approx(3.16e6)


@pytest.mark.parametrize("state", [DoseState.QUARANTINE, DoseState.REJECTED, DoseState.RETURNED,
                                   DoseState.DISCARDED])
def test_an_unreleased_unit_is_not_issued(ward, state):
    ward.fresh.state = state
    db.session.commit()
    error = refused(ward.pharmacist, issue, ward)
    assert "QA has not released" in error.message or state.title.lower() in error.message
    assert count(Issue) == 0 and ward.fresh.state == state


def test_an_interim_release_may_be_issued(ward):
    ward.fresh.state = DoseState.RELEASED_INTERIM
    db.session.commit()
    assert done(ward.pharmacist, issue, ward)


def test_an_expired_unit_is_not_issued(ward):
    with clock.frozen(ward.fresh.expiry_at):
        error = refused(ward.pharmacist, issue, ward)
    assert "past its expiry time" in error.message and "cannot be issued" in error.message
    assert_not_issued(ward)


def test_a_unit_is_not_issued_on_another_subjects_order(ward):
    other = make_subject(ward.pharmacist, "LAL2013-RM-002")
    add_weight(ward.pharmacist, other, "64.0 kg", days_ago=0)
    error = refused(ward.pharmacist, issue, ward, order=make_order(ward.pharmacist, other))
    assert "another subject (LAL2013-RM-002)" in error.message
    assert_not_issued(ward)


def test_a_unit_is_not_issued_on_another_infusions_order(ward):
    error = refused(ward.pharmacist, issue, ward, ward.frozen)
    assert "made for infusion 2" in error.message
    assert_not_issued(ward, ward.frozen)


def test_an_order_that_is_not_open_is_not_served(ward):
    ward.order.status = OrderStatus.CANCELLED
    db.session.commit()
    assert "cancelled" in refused(ward.pharmacist, issue, ward).message
    assert_not_issued(ward)


@pytest.mark.parametrize(("ordered", "words"), [(3.16e6, "above the study's level for infusion 1"),
                                                (1.5e8, "hard stop")])
def test_an_order_above_the_dose_level_is_not_served(ward, ordered, words):
    ward.order.dose_per_kg = Q_(ordered, "cell / kilogram")  # a tampered order: the operations never write one
    db.session.commit()
    assert words in refused(ward.pharmacist, issue, ward).message
    assert_not_issued(ward)


def test_a_bag_above_the_maximum_at_the_orders_weight_is_a_hard_stop(ward):
    set_reason(db.session, "a tampered unit: the operations never make one")
    ward.fresh.cells = Q_(1.01e8 * 64.0, "cell")
    db.session.commit()
    error = refused(ward.pharmacist, issue, ward)
    assert "above the maximum dose of 1 × 10⁸ cells/kg: hard stop" in error.message
    assert_not_issued(ward)


@pytest.mark.parametrize(("weight", "inside"), [("80.0 kg", True), ("53.4 kg", True), ("81 kg", False),
                                                ("53.3 kg", False)])
def test_the_dose_at_the_orders_weight_lies_within_the_tolerance(ward, weight, inside):
    ward.order.status = OrderStatus.CANCELLED
    db.session.commit()
    add_weight(ward.pharmacist, ward.bench.subject, weight, days_ago=0)
    order = make_order(ward.pharmacist, ward.bench.subject)
    if inside:
        assert done(ward.pharmacist, issue, ward, order=order)
    else:
        assert "outside 80-120 %" in refused(ward.pharmacist, issue, ward, order=order).message
        assert_not_issued(ward)


def test_infusion_two_needs_infusion_one_administered(ward):
    with clock.frozen(clock.now() + timedelta(days=28)):
        add_weight(ward.pharmacist, ward.bench.subject, "64.0 kg", days_ago=0)
        order = make_order(ward.pharmacist, ward.bench.subject)
        error = refused(ward.pharmacist, issue, ward, ward.frozen, order)
    assert "Infusion 1 has not been administered" in error.message
    assert_not_issued(ward, ward.frozen)


def test_infusion_two_comes_at_least_28_days_after_infusion_one(ward):
    given = clock.now() - timedelta(hours=1)
    give(ward, at=given)
    assert administered_dates(ward.bench.subject) == {1: clock.to_local(given + timedelta(minutes=10)).date()}
    with clock.frozen(given + timedelta(days=20)):
        add_weight(ward.pharmacist, ward.bench.subject, "64.0 kg", days_ago=0)
        order = make_order(ward.pharmacist, ward.bench.subject)
    with clock.frozen(given + timedelta(days=27)):
        error = refused(ward.pharmacist, issue, ward, ward.frozen, order)
    assert "may be issued from" in error.message and "at least 28 days apart" in error.message
    assert_not_issued(ward, ward.frozen)
    with clock.frozen(given + timedelta(days=28, hours=1)):
        assert done(ward.pharmacist, issue, ward, ward.frozen, order)


def test_issue_needs_the_collectors_identity_and_pharmacy(ward, technician):
    assert "identity" in refused(ward.pharmacist, issue, ward, identity_confirmed=False).message
    assert "required" in refused(ward.pharmacist, issue, ward, collector_name="  ").message
    error = refused(technician, operations.issue_dose, ward.fresh, ward.order, technician, PASSWORD,
                    technician.username, "Nurse", True)
    assert isinstance(error, NotPermitted)
    assert_not_issued(ward)


def test_a_wrong_password_issues_nothing(ward):
    assert "Password not accepted" in refused(ward.pharmacist, issue, ward, password="wrong").message
    assert_not_issued(ward)
    assert ward.pharmacist.failed_logins == 1


def test_a_returned_unit_is_never_issued_again(ward):
    done(ward.pharmacist, issue, ward)
    assert "reason" in refused(ward.pharmacist, operations.return_dose, ward.fresh, ward.pharmacist, " ").message
    done(ward.pharmacist, operations.return_dose, ward.fresh, ward.pharmacist, "Patient febrile, infusion postponed")
    assert ward.fresh.state == DoseState.RETURNED
    assert "returned" in refused(ward.pharmacist, issue, ward).message
    assert "returned" in refused(ward.pharmacist, check, ward).message


def test_one_order_is_served_by_one_unit_at_a_time(ward):
    done(ward.pharmacist, issue, ward)
    set_reason(db.session, "a second unit for the same infusion, as a second collection would make")
    ward.frozen.infusion_number = 1
    db.session.commit()
    assert "already issued on order" in refused(ward.pharmacist, issue, ward, ward.frozen).message
