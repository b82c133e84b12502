"""Races on PostgreSQL (real threads, each with its own app context and session): the gate never loses one."""

import threading

import pytest
from sqlalchemy import func, select

from manufacturing.accounts.models import User
from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.core.errors import DomainError
from manufacturing.core.signatures import Meaning, Signature
from manufacturing.dispensing import operations as dispensing
from manufacturing.dispensing.models import Issue
from manufacturing.extensions import db
from manufacturing.lots import operations as lots
from manufacturing.lots.models import Lot
from manufacturing.patients.models import InfusionOrder
from manufacturing.processing import operations as processing
from manufacturing.processing.entries import StepInput
from manufacturing.processing.models import DoseState, DoseUnit, ProcessStep, StepKind, StepStatus
from manufacturing.quality import qc
from manufacturing.records.label import void_label
from manufacturing.release import operations as release
from manufacturing.release.models import LabelPrint, LabelVoid
from tests.dispensing.factories import PREPARED, prepare_units
from tests.factories import PASSWORD
from tests.release.factories import record_results

pytestmark = pytest.mark.usefixtures("database")
ROUNDS = 3


@pytest.fixture(autouse=True)
def _postgresql_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks are exercised on PostgreSQL")


def race(app, *acts):
    """Run each act(session-bound callable) in its own thread and app context, all released together."""
    db.session.commit()
    db.session.close()
    barrier, outcomes = threading.Barrier(len(acts)), [None] * len(acts)

    def run(number, act):
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                outcomes[number] = act() or "done"
                db.session.commit()
            except DomainError as error:
                db.session.rollback()
                outcomes[number] = error
            except Exception as error:
                db.session.rollback()
                outcomes[number] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=pair, daemon=True) for pair in enumerate(acts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    crashes = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, DomainError)]
    assert crashes == [], crashes
    return outcomes


def as_user(username):
    user = db.session.scalar(select(User).where(User.username == username))
    set_actor(db.session, user.id, user.username)
    return user


def failing_sterility(lot_id, dose_id):
    def act():
        user = as_user("tech.one")
        lot, dose = db.session.get(Lot, lot_id), db.session.get(DoseUnit, dose_id)
        qc.record_result(lot, dose, "sterility", "growth", clock.now(), user, PASSWORD, user.username)
    return act


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_failing_result_and_issue_at_once_never_leave_an_issued_unit_without_hold(app, ward, round_):
    lot_id, dose_id, order_id = ward.lot.id, ward.fresh.id, ward.order.id

    def issue():
        user = as_user("pharm.one")
        dose, order = db.session.get(DoseUnit, dose_id), db.session.get(InfusionOrder, order_id)
        dispensing.issue_dose(dose, order, user, PASSWORD, user.username, "Nurse", True)

    race(app, failing_sterility(lot_id, dose_id), issue)
    dose = db.session.get(DoseUnit, dose_id)
    assert dose.state == DoseState.ON_HOLD
    assert release.standing_disposition(dose) is None


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_failing_result_and_release_at_once_never_leave_a_released_unit(app, technician, verifier, qa_user,
                                                                         pharmacist, round_):
    bench, lot, fresh, _ = prepare_units(technician, verifier, qa_user, pharmacist)
    record_results(bench, lot, fresh, bench.at(PREPARED + 0.25))
    lot_id, dose_id = lot.id, fresh.id

    def release_it():
        user = as_user("qa.one")
        release.release_dose(db.session.get(DoseUnit, dose_id), user, PASSWORD, user.username)

    outcomes = race(app, failing_sterility(lot_id, dose_id), release_it)
    dose = db.session.get(DoseUnit, dose_id)
    assert dose.state in (DoseState.ON_HOLD, DoseState.QUARANTINE), outcomes
    assert release.standing_disposition(dose) is None


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_label_void_and_issue_at_once(app, ward, round_):
    dose_id, order_id = ward.fresh.id, ward.order.id
    label_id = db.session.scalars(select(LabelPrint.id).where(LabelPrint.dose_unit_id == dose_id)).one()

    def void():
        user = as_user("tech.one")
        void_label(db.session.get(LabelPrint, label_id), user, "Torn")

    def issue():
        user = as_user("pharm.one")
        dispensing.issue_dose(db.session.get(DoseUnit, dose_id), db.session.get(InfusionOrder, order_id), user,
                              PASSWORD, user.username, "Nurse", True)

    race(app, void, issue)
    issued = db.session.scalar(select(Issue).where(Issue.dose_unit_id == dose_id))
    voided = db.session.scalar(select(LabelVoid).where(LabelVoid.label_print_id == label_id))
    assert voided is not None
    if issued is not None:
        assert voided.voided_at >= issued.issued_at  # issued with a valid label, voided after


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_lot_hold_and_bedside_check_at_once(app, ward, round_):
    from manufacturing.dispensing.models import BedsideCheck
    from tests.dispensing.factories import SCAN, done, issue
    done(ward.pharmacist, issue, ward)
    lot_id, dose_id = ward.lot.id, ward.fresh.id

    def hold():
        user = as_user("qa.one")
        lots.hold(db.session.get(Lot, lot_id), user, "Shipper mix-up suspected")

    def bedside():
        first, second = as_user("pharm.one"), db.session.scalar(select(User).where(User.username == "pharm.two"))
        checkers = [dispensing.Checker(u, PASSWORD, u.username, "LAL2013-RM-001", SCAN, "A0") for u in (first, second)]
        dispensing.bedside_check(db.session.get(DoseUnit, dose_id), *checkers, True)

    outcomes = race(app, hold, bedside)
    checked = db.session.scalar(select(func.count()).select_from(BedsideCheck))
    hold_event_first = isinstance(outcomes[1], DomainError)
    assert db.session.get(Lot, lot_id).state.name == "ON_HOLD"
    assert checked == (0 if hold_event_first else 1), outcomes


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_correction_and_verification_of_a_step_at_once(app, bench, round_):
    from datetime import timedelta
    lot = bench.lot_through(StepKind.CD56_SELECTION, verify_last=False)
    step = processing.lot_steps(lot)[-1]
    step_id, at = step.id, step.performed_at + timedelta(minutes=30)
    given = bench.step_input(step.kind, step.performed_at)
    given = StepInput(values=given.values, performed_at=given.performed_at, materials=given.materials,
                      equipment=given.equipment, observations="Column changed")

    def correct():
        user = as_user("tech.one")
        with clock.frozen(at):
            processing.correct_step(db.session.get(ProcessStep, step_id), given, "Observation", user, PASSWORD,
                                    user.username)

    def verify():
        user = as_user("tech.two")
        with clock.frozen(at):
            processing.verify_step(db.session.get(ProcessStep, step_id), user, PASSWORD, user.username)

    outcomes = race(app, correct, verify)
    step = db.session.get(ProcessStep, step_id)
    verified = db.session.scalar(select(func.count()).select_from(Signature).where(
        Signature.entity_type == "step", Signature.entity_id == str(step_id), Signature.meaning == Meaning.VERIFIED,
        Signature.record_version == step.revision))
    assert (step.status == StepStatus.VERIFIED) == (verified == 1), outcomes
