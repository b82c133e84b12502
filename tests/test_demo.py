"""`flask demo load` tells the demo story through the operations, once."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.core.audit import AuditEvent
from manufacturing.core.audit_verify import verify_chain
from manufacturing.demo import load_story
from manufacturing.lots.models import Lot, LotState
from manufacturing.processing.demo import _local_days_after
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseState, ProcessStep, StepKind
from manufacturing.processing.rules import days_since_day0
from manufacturing.quality.models import Deviation
from manufacturing.records.models import DocumentJob
from manufacturing.reports import figures
from tests.demo_site import (
    AWAITING_QA,
    COMPLETED,
    IN_CULTURE,
    ON_HOLD,
    SECOND_COLLECTION,
    STOPPED,
    load_demo_once,
    lot_of,
)


def test_demo_load_tells_the_story_once(app, database):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    assert "tech.anna" in result.output and "must be changed at first login" in result.output
    states = {code: lot_of(code, database.session).state for code in (AWAITING_QA, IN_CULTURE, ON_HOLD)}
    assert states == {AWAITING_QA: LotState.DOSES_PREPARED, IN_CULTURE: LotState.IN_CULTURE,
                      ON_HOLD: LotState.ON_HOLD}
    complete = lot_of(AWAITING_QA, database.session)
    culture_days = database.session.scalar(select(func.count()).select_from(ProcessStep).where(
        ProcessStep.lot_id == complete.id, ProcessStep.kind == StepKind.CULTURE_DAY))
    assert culture_days == 14
    assert len(doses_of(complete)) == 5 and all(dose.state == DoseState.QUARANTINE for dose in doses_of(complete))
    assert database.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.scope == f"lot:{complete.id}")) >= 200
    held = lot_of(ON_HOLD, database.session)
    assert database.session.scalars(select(Deviation).where(Deviation.lot_id == held.id)).one()
    assert verify_chain(database.session).ok
    times = database.session.scalars(select(AuditEvent.occurred_at).order_by(AuditEvent.id)).all()
    assert times == sorted(times)  # the story is told in time order
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "already loaded" in again.output


def test_demo_scale_adds_lots_through_the_operations_in_time_order(app, database):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["demo", "scale", "3"])
    assert refused.exit_code != 0 and "Load the demo first" in refused.output
    load_demo_once()
    demo_lots = database.session.scalar(select(func.count()).select_from(Lot))
    before = database.session.scalar(select(func.max(AuditEvent.id)))
    result = runner.invoke(args=["demo", "scale", "20", "--batch", "5"])
    assert result.exit_code == 0, result.output
    assert "20 of 20 lots started" in result.output and "20 lots in" in result.output
    states = database.session.scalars(select(Lot.state)).all()
    assert len(states) == demo_lots + 20
    assert {LotState.DOSES_PREPARED, LotState.IN_CULTURE, LotState.ON_HOLD} <= set(states)
    assert verify_chain(database.session).ok
    times = database.session.scalars(select(AuditEvent.occurred_at).where(AuditEvent.id > before)
                                     .order_by(AuditEvent.id)).all()
    assert times == sorted(times)  # the lots are told together, in time order


@pytest.mark.parametrize("days", range(1, 4))
def test_the_story_counts_culture_days_in_local_days_across_the_clock_change(days):
    """Day 0 at 00:10 the day before the clocks go back: each count still falls on its own local date."""
    day0 = clock.local_from_naive(datetime(2026, 10, 24, 0, 10))
    count_at = _local_days_after(day0, days, timedelta(minutes=30))
    assert clock.to_local(count_at).replace(tzinfo=None) == datetime(2026, 10, 24 + days, 0, 40)
    assert days_since_day0(day0, count_at) == days


def test_a_count_half_an_hour_after_a_late_day0_stays_on_its_day():
    day0 = clock.local_from_naive(datetime(2026, 11, 10, 23, 45))
    count_at = _local_days_after(day0, 1, timedelta(minutes=30))
    assert days_since_day0(day0, count_at) == 1


def test_demo_loaded_at_a_quarter_to_nine_numbers_its_culture_days_1_to_14(app, database):
    """Day 0 is 14 days 9 hours before now: loaded at 08:45 local, day 0 falls at 23:45 local."""
    now = clock.local_from_naive(datetime(2026, 11, 20, 8, 45))
    with clock.frozen(now):
        load_story(now, history=False)
    complete = lot_of(AWAITING_QA, database.session)
    numbers = database.session.scalars(select(ProcessStep.day_number).where(
        ProcessStep.lot_id == complete.id, ProcessStep.kind == StepKind.CULTURE_DAY).order_by(ProcessStep.id)).all()
    assert numbers == list(range(1, 15)), numbers


def test_the_demo_tells_the_trial_s_six_patients(database):
    """One completed all five infusions, one went off study for toxicity after the third, one had a failed
    expansion and a second collection; three are in progress. The documents of every release are stored."""
    load_demo_once()
    report = figures.enrolment(database.session)
    status = {patient.subject_code: (patient.given, patient.status) for patient in report.patients}
    assert status == {COMPLETED: (5, "completed all planned infusions"), STOPPED: (3, "off study: toxicity"),
                      SECOND_COLLECTION: (2, "in progress"), AWAITING_QA: (0, "in progress"),
                      IN_CULTURE: (0, "in progress"), ON_HOLD: (0, "in progress")}
    assert all(not patient.short_intervals for patient in report.patients)
    outcomes = {lot.subject_code: lot.outcome for lot in figures.manufacturing(
        database.session, figures.steps_by_lot(database.session)) if lot.outcome == "cancelled"}
    assert outcomes == {SECOND_COLLECTION: "cancelled"}
    assert database.session.scalar(select(func.count()).select_from(DocumentJob).where(
        DocumentJob.done_at.is_(None))) == 0
    assert verify_chain(database.session).ok
