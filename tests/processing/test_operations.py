"""Rules of the bench, tested on the operations: sequence, segregation of duties, refusals, corrections."""

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence, ReasonRequired
from manufacturing.core.signatures import Meaning, is_intact, signatures_of
from manufacturing.lots import operations as lot_operations
from manufacturing.lots.din import DinError
from manufacturing.lots.models import Lot, LotState
from manufacturing.processing import operations
from manufacturing.processing.entries import EntryError, read_entries
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import ProcessStep, StepKind, StepStatus
from manufacturing.quality import operations as quality
from manufacturing.quality.lot_record import build
from manufacturing.quality.models import DeviationClass
from manufacturing.units import parse_quantity
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE


def snapshot(database) -> tuple[int, int, int]:
    """Counts that must not move when an operation is refused."""
    database.session.rollback()
    count = lambda model: database.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    return count(Lot), count(ProcessStep), count(AuditEvent)


def refused(database, bench, error, call, *args):
    """Run an operation expected to be refused; check that nothing was written."""
    before = snapshot(database)
    with pytest.raises(error) as caught:
        call(*args)
    assert snapshot(database) == before
    return caught.value.message


def test_steps_only_in_order(database, bench):
    lot = bench.receive()
    given = bench.step_input(StepKind.CD56_SELECTION, bench.at(3))
    message = refused(database, bench, OutOfSequence, operations.record_step, lot, StepKind.CD56_SELECTION, given,
                      bench.technician, PASSWORD, bench.technician.username)
    assert "cannot be recorded now" in message


def test_next_step_waits_for_verification(database, bench):
    lot = bench.receive()
    given = bench.step_input(StepKind.CD3_DEPLETION, bench.at(3))
    with clock.frozen(bench.at(3)):
        message = refused(database, bench, OutOfSequence, operations.record_step, lot, StepKind.CD3_DEPLETION,
                          given, bench.technician, PASSWORD, bench.technician.username)
    assert "not verified yet" in message


def test_a_step_is_recorded_once(database, bench):
    lot = bench.lot_through(StepKind.CD3_DEPLETION)
    given = bench.step_input(StepKind.CD3_DEPLETION, bench.at(4))
    with clock.frozen(bench.at(4)):
        message = refused(database, bench, OutOfSequence, operations.record_step, lot, StepKind.CD3_DEPLETION,
                          given, bench.technician, PASSWORD, bench.technician.username)
    assert "already recorded" in message


def test_the_performer_cannot_verify(database, bench):
    lot = bench.receive()
    step = operations.lot_steps(lot)[0]
    with clock.frozen(bench.at(1)):
        message = refused(database, bench, NotPermitted, operations.verify_step, step, bench.technician, PASSWORD,
                          bench.technician.username)
    assert "second technician" in message


@pytest.mark.parametrize("who", ["qa", "pharmacist"])
def test_only_technicians_record_and_verify(database, bench, who):
    user = getattr(bench, who)
    given = bench.step_input(StepKind.APHERESIS_RECEIPT, bench.at(0))
    with clock.frozen(bench.at(0)):
        refused(database, bench, NotPermitted, operations.receive_apheresis, bench.subject.subject_code,
                "=G12342600012300", given, user, PASSWORD, user.username)


def test_wrong_din_check_character_is_refused(database, bench):
    given = bench.step_input(StepKind.APHERESIS_RECEIPT, bench.at(0))
    with clock.frozen(bench.at(0)):
        message = refused(database, bench, DinError, operations.receive_apheresis, bench.subject.subject_code,
                          "G123489654321A", given, bench.technician, PASSWORD, bench.technician.username)
    assert "should be Y, not A" in message


def test_a_din_opens_one_lot_only(database, bench):
    bench.receive()
    given = bench.step_input(StepKind.APHERESIS_RECEIPT, bench.at(1))
    with clock.frozen(bench.at(1)):
        message = refused(database, bench, DomainError, operations.receive_apheresis, bench.subject.subject_code,
                          "=G12342600012300", given, bench.technician, PASSWORD, bench.technician.username)
    assert "is already lot NK-" in message


def test_unknown_subject_is_refused(database, bench):
    given = bench.step_input(StepKind.APHERESIS_RECEIPT, bench.at(0))
    with clock.frozen(bench.at(0)):
        message = refused(database, bench, DomainError, operations.receive_apheresis, "LAL2013-XX-999",
                          "=G12342600012300", given, bench.technician, PASSWORD, bench.technician.username)
    assert "No subject LAL2013-XX-999 is registered" in message


def test_label_check_must_be_confirmed(database, bench):
    given = bench.step_input(StepKind.APHERESIS_RECEIPT, bench.at(0), label_check="")
    with clock.frozen(bench.at(0)):
        message = refused(database, bench, EntryError, operations.receive_apheresis, bench.subject.subject_code,
                          "=G12342600012300", given, bench.technician, PASSWORD, bench.technician.username)
    assert "Bag label matches the subject ID and the DIN: must be confirmed" in message


def test_value_of_the_wrong_dimension_is_refused_naming_the_field(database, bench):
    given = bench.step_input(StepKind.APHERESIS_RECEIPT, bench.at(0), viability="96 mL", volume="185")
    with clock.frozen(bench.at(0)):
        message = refused(database, bench, EntryError, operations.receive_apheresis, bench.subject.subject_code,
                          "=G12342600012300", given, bench.technician, PASSWORD, bench.technician.username)
    assert "Viability: 96 mL is a volume" in message and "Volume received:" in message


def test_expired_material_is_refused_naming_it(database, bench):
    lot = bench.lot_through(StepKind.APHERESIS_RECEIPT)
    reagent = bench.materials[next(iter(bench.materials))]
    late = clock.now().replace(year=reagent.expiry_date.year + 1)
    given = bench.step_input(StepKind.CD3_DEPLETION, late)
    with clock.frozen(late):
        message = refused(database, bench, DomainError, operations.record_step, lot, StepKind.CD3_DEPLETION, given,
                          bench.technician, PASSWORD, bench.technician.username)
    assert f"lot {reagent.supplier_lot} expired on" in message


def test_step_in_the_future_or_before_the_previous_is_refused(database, bench):
    lot = bench.lot_through(StepKind.APHERESIS_RECEIPT)
    with clock.frozen(bench.at(3)):
        future = bench.step_input(StepKind.CD3_DEPLETION, bench.at(5))
        assert "in the future" in refused(database, bench, DomainError, operations.record_step, lot,
                                          StepKind.CD3_DEPLETION, future, bench.technician, PASSWORD,
                                          bench.technician.username)
        early = bench.step_input(StepKind.CD3_DEPLETION, bench.at(-1))
        assert "cannot be dated before the apheresis receipt" in refused(
            database, bench, OutOfSequence, operations.record_step, lot, StepKind.CD3_DEPLETION, early,
            bench.technician, PASSWORD, bench.technician.username)


def test_a_lot_on_hold_accepts_no_step_until_qa_lifts_the_hold(database, bench):
    lot = bench.lot_through(StepKind.APHERESIS_RECEIPT)
    lot_operations.hold(lot, bench.technician, "Bag temperature on arrival to be checked")
    database.session.commit()
    given = bench.step_input(StepKind.CD3_DEPLETION, bench.at(3))
    with clock.frozen(bench.at(3)):
        message = refused(database, bench, OutOfSequence, operations.record_step, lot, StepKind.CD3_DEPLETION,
                          given, bench.technician, PASSWORD, bench.technician.username)
    assert "on hold (Bag temperature on arrival to be checked)" in message
    with pytest.raises(NotPermitted):
        lot_operations.lift_hold(lot, bench.technician, "Fine")
    database.session.rollback()
    lot_operations.lift_hold(lot, bench.qa, "Logger shows 6-9 °C throughout")
    database.session.commit()
    assert lot.state == LotState.RECEIVED
    bench.record(lot, StepKind.CD3_DEPLETION, bench.at(3))


def test_action_limit_breach_needs_a_deviation_before_verification(database, bench):
    lot = bench.lot_through(StepKind.CULTURE_DAY0)
    step = bench.record(lot, StepKind.CULTURE_DAY, bench.at(SCHEDULE[StepKind.CULTURE_DAY0] + 24 * 5),
                        viability="65 %")
    checks = next(view for view in build(lot).steps if view.step.id == step.id).checks
    assert any(c.evaluation.outcome.name == "FAIL" and "65.0 %" in c.evaluation.reason for c in checks)
    with clock.frozen(step.performed_at + timedelta(minutes=10)):
        message = refused(database, bench, OutOfSequence, operations.verify_step, step, bench.verifier, PASSWORD,
                          bench.verifier.username)
        assert "open a deviation" in message
        quality.open_deviation(lot, bench.technician, DeviationClass.MAJOR, "Viability below action limit",
                               "Day 5 viability 65 %", "Culture continued; QA informed", step)
        database.session.commit()
    bench.verify(step)
    assert step.status == StepStatus.VERIFIED


def test_correction_needs_a_reason_keeps_the_old_value_and_asks_for_new_signatures(database, bench):
    lot = bench.lot_through(StepKind.CD3_DEPLETION)
    step = operations.lot_steps(lot)[1]
    old_signatures = signatures_of(step)
    assert [s.meaning for s in old_signatures] == [Meaning.PERFORMED, Meaning.VERIFIED]
    given = bench.step_input(StepKind.CD3_DEPLETION, step.performed_at, viability="94 %")
    with clock.frozen(bench.at(5)):
        refused(database, bench, ReasonRequired, operations.correct_step, step, given, "", bench.technician,
                PASSWORD, bench.technician.username)
        operations.correct_step(step, given, "Viability misread from the counter printout", bench.verifier,
                                PASSWORD, bench.verifier.username)
        database.session.commit()
    assert not any(is_intact(signature, step) for signature in old_signatures)
    assert step.status == StepStatus.PERFORMED and str(step.value("viability").quantity) == "94.0 percent"
    change = database.session.scalars(select(AuditEvent).where(AuditEvent.action == "step_value.updated")).one()
    assert change.reason == "Viability misread from the counter printout"
    assert json.loads(change.changes)["entered"] == {"old": "95 %", "new": "94 %"}
    with clock.frozen(bench.at(5.5)):
        refused(database, bench, NotPermitted, operations.verify_step, step, bench.verifier, PASSWORD,
                bench.verifier.username)
    with clock.frozen(bench.at(6)):
        operations.verify_step(step, bench.technician, PASSWORD, bench.technician.username)
        database.session.commit()
    assert step.status == StepStatus.VERIFIED
    assert [is_intact(s, step) for s in signatures_of(step)] == [False, False, True, True]


def test_correction_that_changes_nothing_is_refused(database, bench):
    lot = bench.lot_through(StepKind.CD3_DEPLETION)
    step = operations.lot_steps(lot)[1]
    given = bench.step_input(StepKind.CD3_DEPLETION, step.performed_at)
    with clock.frozen(bench.at(5)):
        assert "Nothing was changed" in refused(database, bench, DomainError, operations.correct_step, step, given,
                                                "Check", bench.technician, PASSWORD, bench.technician.username)


def test_late_entry_is_flagged(database, bench):
    lot = bench.lot_through(StepKind.APHERESIS_RECEIPT)
    given = bench.step_input(StepKind.CD3_DEPLETION, bench.at(3))
    with clock.frozen(bench.at(6)):
        operations.record_step(lot, StepKind.CD3_DEPLETION, given, bench.technician, PASSWORD,
                               bench.technician.username)
        database.session.commit()
    views = build(lot).steps
    assert [view.late for view in views] == [False, True]


def test_culture_days_are_numbered_from_day_0_and_recorded_once(database, bench):
    lot = bench.lot_through(StepKind.CULTURE_DAY0)
    day5 = bench.at(SCHEDULE[StepKind.CULTURE_DAY0] + 24 * 5)
    step = bench.record(lot, StepKind.CULTURE_DAY, day5)
    assert step.day_number == 5
    bench.verify(step)
    again = bench.step_input(StepKind.CULTURE_DAY, day5 + timedelta(hours=2))
    with clock.frozen(day5 + timedelta(hours=2)):
        assert "Culture day 5 is already recorded" in refused(
            database, bench, OutOfSequence, operations.record_step, lot, StepKind.CULTURE_DAY, again,
            bench.technician, PASSWORD, bench.technician.username)


def test_wrong_password_at_signing_saves_nothing(database, bench):
    given = bench.step_input(StepKind.APHERESIS_RECEIPT, bench.at(0))
    with clock.frozen(bench.at(0)):
        refused(database, bench, DomainError, operations.receive_apheresis, bench.subject.subject_code,
                "=G12342600012300", given, bench.technician, "wrong-password", bench.technician.username)


def test_a_bare_number_on_the_step_form_is_read_in_the_unit_printed_under_its_field(database, bench):
    lot = bench.lot_through(StepKind.CULTURE_DAY0)
    day5 = bench.at(SCHEDULE[StepKind.CULTURE_DAY0] + 24 * 5)
    given = replace(bench.step_input(StepKind.CULTURE_DAY, day5, viability="80", concentration="1,5e6 "),
                    unit_printed=True)  # as the step form gives it
    step = bench._as(bench.technician, day5, operations.record_step, lot, StepKind.CULTURE_DAY, given,
                     bench.technician, PASSWORD, bench.technician.username)
    assert step.value("viability").quantity == parse_quantity("80 %")
    assert step.value("viability").entered == "80"  # kept as typed
    assert step.value("concentration").quantity == parse_quantity("1.5 x 10^6 cells/mL")
    refused = bench.step_input(StepKind.CULTURE_DAY, day5, viability="80")  # not from the form: no unit printed
    with pytest.raises(EntryError, match="Viability: 80: add the unit"):
        read_entries(definition(StepKind.CULTURE_DAY), refused.values, refused.unit_printed)
