"""QA's review: a step's correction is decided by the step's own rule; other changes with a reason are listed."""

import pytest

from manufacturing.core import clock
from manufacturing.lots import operations as lot_operations
from manufacturing.processing import operations as processing
from manufacturing.processing.doses import doses_of
from manufacturing.processing.guards import is_corrected
from manufacturing.processing.models import StepKind
from manufacturing.release.review import STEP_RECORDS, review
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE


@pytest.fixture
def lot(prepared):
    return prepared.lot


def test_a_corrected_step_is_listed_apart_with_the_reason_signed(database, bench, lot):
    step = processing.lot_steps(lot)[1]
    given = bench.step_input(StepKind.CD3_DEPLETION, step.performed_at, viability="94 %")
    with clock.frozen(bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 1)):
        processing.correct_step(step, given, "Viability misread", bench.verifier, PASSWORD, bench.verifier.username)
        database.session.commit()
    found = review(doses_of(lot)[0])
    assert is_corrected(step) and [view.step.id for view in found.corrected_steps] == [step.id]
    assert found.corrected_steps[0].correction_notes == ["Correction: Viability misread"]
    assert not [event for event in found.corrections if event.entity_type in STEP_RECORDS]


def test_an_uncorrected_lot_lists_no_corrected_step(database, bench, lot):
    assert review(doses_of(lot)[0]).corrected_steps == []


def test_a_hold_with_its_reason_is_listed_among_the_changes(database, bench, lot):
    with clock.frozen(bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 1)):
        lot_operations.hold(lot, bench.qa, "Incubator alarm under investigation")
        database.session.commit()
    found = review(doses_of(lot)[0])
    assert {(event.entity_type, event.reason) for event in found.corrections} == {
        ("lot", "Incubator alarm under investigation")}
    assert found.corrected_steps == []
