"""Issue, bedside check, administration and return, through the operations: every refusal writes nothing."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent, set_reason
from manufacturing.core.errors import DomainError, NotPermitted
from manufacturing.core.signatures import Meaning, is_intact, signatures_of
from manufacturing.dispensing import operations, queries
from manufacturing.dispensing.models import Administration, BedsideCheck, Issue
from manufacturing.dispensing.queries import administered_dates
from manufacturing.extensions import db
from manufacturing.patients.models import InfusionOrder, OrderStatus
from manufacturing.processing.models import DoseState, DoseUnit
from manufacturing.release.operations import reject_dose
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
)
from tests.factories import PASSWORD
from tests.patients.factories import add_weight, make_order, make_subject


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def mismatch_events() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == queries.MISMATCH)))


def assert_not_issued(ward, dose=None):
    dose = dose or ward.fresh
    db.session.refresh(dose)
    assert queries.issue_of(dose) is None
    assert dose.state in (DoseState.RELEASED_INTERIM, DoseState.RELEASED) and dose.infusion_order_id is None


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
        issued = done(ward.pharmacist, issue, ward, ward.frozen, order)
        assert issued.thawed_at == clock.now() and issued.use_by == clock.now() + timedelta(hours=4)
    assert issued.dose_per_kg.m_as("cell/kg") == pytest.approx(3.16e6)


def _reject(ward):
    done(ward.bench.qa, reject_dose, ward.fresh, ward.bench.qa, PASSWORD, ward.bench.qa.username, "Bag damaged")


def _discard(ward):
    done(ward.pharmacist, operations.discard_dose, ward.fresh, ward.pharmacist, "Dropped in pharmacy")


@pytest.mark.parametrize(("stop", "state"), [(_reject, DoseState.REJECTED), (_discard, DoseState.DISCARDED)])
def test_an_unreleased_unit_is_not_issued(ward, stop, state):
    stop(ward)
    error = refused(ward.pharmacist, issue, ward)
    assert state.title.lower() in error.message
    assert count(Issue) == 0 and ward.fresh.state == state


def test_an_interim_release_may_be_issued(ward):
    assert ward.fresh.state == DoseState.RELEASED_INTERIM
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
    assert administered_dates(ward.bench.subject) == {1: clock.local_date(given + timedelta(minutes=10))}
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


def test_a_unit_that_will_not_be_given_is_discarded_with_a_reason(ward):
    technician, qa, discard = ward.bench.technician, ward.bench.qa, operations.discard_dose
    done(ward.pharmacist, issue, ward)
    done(ward.pharmacist, operations.return_dose, ward.fresh, ward.pharmacist, "Infusion postponed")
    assert "Only pharmacy or QA" in refused(technician, discard, ward.fresh, technician, "Expired").message
    assert "reason" in refused(ward.pharmacist, operations.discard_dose, ward.fresh, ward.pharmacist, "").message
    done(ward.pharmacist, operations.discard_dose, ward.fresh, ward.pharmacist, "Fresh unit past its use-by time")
    assert ward.fresh.state == DoseState.DISCARDED
    assert "already discarded" in refused(qa, discard, ward.fresh, qa, "Again").message


def test_an_administered_unit_is_not_discarded(ward):
    give(ward)
    qa = ward.bench.qa
    assert "cannot be discarded" in refused(qa, operations.discard_dose, ward.fresh, qa, "Tidy").message


def test_one_order_is_served_by_one_unit_at_a_time(ward):
    done(ward.pharmacist, issue, ward)
    set_reason(db.session, "a second unit for the same infusion, as a second collection would make")
    ward.frozen.infusion_number = 1
    db.session.commit()
    assert "already issued on order" in refused(ward.pharmacist, issue, ward, ward.frozen).message


# ---- bedside check -------------------------------------------------------------------------------

@pytest.fixture
def issued(ward):
    done(ward.pharmacist, issue, ward)
    return ward


def test_a_matching_check_is_signed_by_both(issued):
    ward = issued
    bedside = done(ward.pharmacist, check, ward, first={"bag_din": KEYBOARD, "bag_division": "=<S12341A0"},
                   second={"wristband": " lal2013-rm-001 "})
    assert bedside.bag_din_first == KEYBOARD and bedside.bag_division_first == "=<S12341A0"
    signers = [(s.signer_id, s.meaning) for s in signatures_of(bedside)]
    assert signers == [(ward.pharmacist.id, Meaning.BEDSIDE_CHECKED), (ward.second.id, Meaning.BEDSIDE_SECOND_CHECKED)]
    assert all(is_intact(s, bedside) for s in signatures_of(bedside)) and not mismatch_events()


@pytest.mark.parametrize(("entries", "words"), [
    ({"wristband": "LAL2013-RM-002"}, "Wristband LAL2013-RM-002 is not the subject of this order (LAL2013-RM-001)"),
    ({"bag_din": OTHER_DIN}, "Bag DIN G1234 26 000124 is not the DIN of this dose unit (G1234 26 000123)"),
    ({"bag_division": "B0"}, "Bag division B0 is not the division of this dose unit (A0)"),
    ({"bag_division": "=<S99991A0"}, "Bag product code S9999 is not this product (S1234)"),
])
def test_a_mismatch_is_refused_and_kept_in_the_audit_trail(issued, entries, words):
    error = refused(issued.pharmacist, check, issued, second=entries)
    assert words in error.message and error.message.endswith("STOP, do not infuse.")
    assert "as read by Paola Farmacia" in error.message
    assert count(BedsideCheck) == 0 and issued.fresh.state == DoseState.ISSUED
    [event] = mismatch_events()
    assert event.entity_id == str(issued.fresh.id) and event.username == issued.pharmacist.username
    assert words in event.changes and "pharm.two" in event.changes
    assert queries.mismatches(issued.fresh)[0].message == error.message


def test_both_reading_the_same_swapped_bag_is_named_once(issued):
    error = refused(issued.pharmacist, check, issued, first={"bag_din": OTHER_DIN}, second={"bag_din": OTHER_DIN})
    assert error.message.count("Bag DIN") == 1 and "as read by" not in error.message


def test_an_expired_unit_is_stopped_at_the_bedside(issued):
    with clock.frozen(issued.fresh.expiry_at + timedelta(minutes=1)):
        error = refused(issued.pharmacist, check, issued)
    assert "past its use-by time" in error.message and "STOP" in error.message and len(mismatch_events()) == 1


def test_the_same_person_cannot_check_twice(issued, qa_user):
    ward = issued
    first = operations.Checker(ward.pharmacist, PASSWORD, ward.pharmacist.username, "LAL2013-RM-001", KEYBOARD, "A0")
    assert "same person" in refused(ward.pharmacist, operations.bedside_check, ward.fresh, first, first, True).message
    other = first.__class__(qa_user, PASSWORD, qa_user.username, "LAL2013-RM-001", KEYBOARD, "A0")
    assert "pharmacy" in refused(ward.pharmacist, operations.bedside_check, ward.fresh, first, other, True).message
    unknown = first.__class__(None, PASSWORD, "nobody", "LAL2013-RM-001", KEYBOARD, "A0")
    assert "not known" in refused(ward.pharmacist, operations.bedside_check, ward.fresh, first, unknown, True).message
    assert count(BedsideCheck) == 0 and not mismatch_events()


def test_unreadable_entries_appearance_and_passwords_are_refused_without_a_mismatch(issued):
    ward = issued
    error = refused(ward.pharmacist, check, ward, second={"bag_din": "G1234 26 000123 A"})
    assert error.message.startswith("Paola Farmacia: The check character") and "should be L" in error.message
    assert "division code is 00" in refused(ward.pharmacist, check, ward, first={"bag_division": "a0"}).message
    assert "appearance" in refused(ward.pharmacist, check, ward, appearance_ok=False).message.lower()
    assert "Password not accepted" in refused(ward.pharmacist, check, ward, second={"password": "x"}).message
    db.session.refresh(ward.second)
    assert ward.second.failed_logins == 1 and count(BedsideCheck) == 0 and not mismatch_events()


def test_only_an_issued_unit_is_checked(ward):
    assert "only an issued unit" in refused(ward.pharmacist, check, ward).message


# ---- administration ------------------------------------------------------------------------------

def test_administration_fulfils_the_order(issued):
    ward = issued
    done(ward.pharmacist, check, ward)
    given = done(ward.pharmacist, administer, ward, volume_infused_text="48.5 mL")
    assert ward.fresh.state == DoseState.ADMINISTERED and ward.order.status == OrderStatus.FULFILLED
    assert given.volume_infused.m_as("mL") == 48.5 and given.deviations is None
    [signature] = signatures_of(given)
    assert signature.meaning == Meaning.ADMINISTERED and is_intact(signature, given)
    assert administered_dates(ward.bench.subject) == {1: clock.local_date(given.started_at)}


def test_administration_only_after_a_bedside_check(issued):
    assert "No bedside check" in refused(issued.pharmacist, administer, issued).message
    assert count(Administration) == 0 and issued.fresh.state == DoseState.ISSUED


@pytest.mark.parametrize(("changes", "words"), [
    ({"started_at": -10}, "before the bedside check"),
    ({"started_at": 20, "recorded_at": 0}, "in the future"),
    ({"minutes": 0}, "after its start"),
    ({"volume_infused_text": "51 mL"}, "more than the bag holds"),
    ({"volume_infused_text": "0 mL"}, "more than 0 mL"),
    ({"volume_infused_text": "50 g"}, "volume"),
    ({"volume_infused_text": "50"}, "Volume infused: 50: add the unit, e.g. 185 mL"),
    ({"adverse_reactions": " "}, "required"),
])
def test_administration_entries_are_checked(issued, changes, words):
    ward = issued
    checked = done(ward.pharmacist, check, ward).checked_at.replace(second=0, microsecond=0)
    changes = changes | {key: checked + timedelta(minutes=changes[key])
                         for key in ("started_at", "recorded_at") if key in changes}
    assert words in refused(ward.pharmacist, administer, ward, **changes).message
    assert count(Administration) == 0 and ward.fresh.state == DoseState.ISSUED


def test_two_pharmacists_at_once_serve_an_order_once(app, ward):
    set_reason(db.session, "a second unit for the same infusion, as a second collection would make")
    ward.frozen.infusion_number, ward.frozen.cells = 1, ward.fresh.cells
    db.session.commit()
    ids, order_id, user_id = (ward.fresh.id, ward.frozen.id), ward.order.id, ward.pharmacist.id
    barrier, outcomes = threading.Barrier(2), []

    def pharmacist(dose_id: int) -> None:
        with app.app_context():
            barrier.wait()  # before any query: on SQLite the first query takes the write lock
            user = db.session.get(User, user_id)
            dose, order = db.session.get(DoseUnit, dose_id), db.session.get(InfusionOrder, order_id)
            try:
                done(user, operations.issue_dose, dose, order, user, PASSWORD, user.username, "Nurse", True)
                outcomes.append("issued")
            except DomainError as error:
                db.session.rollback()
                outcomes.append(error.message)
            finally:
                db.session.remove()

    db.session.close()
    threads = [threading.Thread(target=pharmacist, args=(dose_id,)) for dose_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes)[1] == "issued" and "already issued on order" in sorted(outcomes)[0]
    assert count(Issue) == 1
