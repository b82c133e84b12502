"""Where features meet: a correction, a hold and a release each follow the one lifecycle of their records."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core.errors import OutOfSequence
from manufacturing.core.signatures import Meaning, Signature, signature_lines
from manufacturing.lots import operations as lots
from manufacturing.processing import operations
from manufacturing.processing.doses import doses_of
from manufacturing.processing.entries import StepInput
from manufacturing.processing.models import DoseState, StepKind, StepStatus
from manufacturing.release import operations as release
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE
from tests.release.factories import record_results

PREPARED = SCHEDULE[StepKind.DOSE_PREPARATION]


def _culture_day(lot):
    return next(step for step in operations.lot_steps(lot) if step.kind == StepKind.CULTURE_DAY)


def _correct(bench, step, at):
    given = bench.step_input(step.kind, step.performed_at)
    given = StepInput(values=given.values, performed_at=given.performed_at, materials=given.materials,
                      equipment=given.equipment, observations="Clumps broken up before counting")
    bench._as(bench.technician, at, operations.correct_step, step, given, "Observation left out", bench.technician,
              PASSWORD, bench.technician.username)


def test_a_corrected_and_verified_step_does_not_block_release(bench):
    """Observed: once a step was corrected and verified again, release_dose refused the lot for good."""
    lot = bench.lot_through(StepKind.HARVEST)
    step = _culture_day(lot)
    _correct(bench, step, bench.at(PREPARED - 30))
    assert step.revision == 2 and step.status == StepStatus.PERFORMED
    bench.verify(step, minutes_later=int((bench.at(PREPARED - 29) - step.performed_at).total_seconds() // 60))
    lines = signature_lines(step)
    assert [line.superseded for line in lines] == [True, True, False, False]
    assert all(line.intact for line in lines if not line.superseded)
    bench.weigh(bench.at(PREPARED - 20))
    bench.verify(bench.prepare(lot, bench.at(PREPARED)))
    dose = doses_of(lot)[0]
    record_results(bench, lot, dose, bench.at(PREPARED + 1))
    bench._as(bench.qa, bench.at(PREPARED + 2), release.release_dose, dose, bench.qa, PASSWORD, bench.qa.username)
    assert dose.state == DoseState.RELEASED_INTERIM


def test_a_step_of_a_lot_on_hold_is_not_verified(bench, database):
    """Observed: a step of a lot on hold could still be verified."""
    lot = bench.lot_through(StepKind.CD3_DEPLETION, verify_last=False)
    step = operations.lot_steps(lot)[-1]
    bench._as(bench.qa, step.performed_at + timedelta(minutes=5), lots.hold, lot, bench.qa, "Bag label unreadable")
    with pytest.raises(OutOfSequence, match="on hold"):
        bench.verify(step)
    database.session.rollback()
    assert step.status == StepStatus.PERFORMED
    assert not operations.guards.can_verify(step, bench.verifier)


def test_a_meaning_is_signed_once_per_version(bench, database):
    lot = bench.lot_through(StepKind.CD3_DEPLETION, verify_last=False)
    step = operations.lot_steps(lot)[-1]
    bench.verify(step)
    with pytest.raises(OutOfSequence, match="already verified"):
        bench.verify(step)
    database.session.rollback()
    count = select(func.count(Signature.id)).where(Signature.entity_type == "step", Signature.entity_id == str(step.id),
                                                   Signature.meaning == Meaning.VERIFIED)
    assert database.session.scalar(count) == 1
