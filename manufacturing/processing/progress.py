"""Where a lot stands at the bench: step titles, the next action, the culture day, steps awaiting verification."""

from datetime import datetime

from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.text import in_sentence
from manufacturing.extensions import db
from manufacturing.lots.guards import awaits_release, is_cancelled, is_on_hold
from manufacturing.lots.models import Lot
from manufacturing.processing import guards
from manufacturing.processing.kinds import next_kinds
from manufacturing.processing.models import ProcessStep, StepKind, StepStatus
from manufacturing.processing.rules import days_since_day0


def step_title(step: ProcessStep) -> str:
    return f"Culture day {step.day_number}" if step.kind == StepKind.CULTURE_DAY else step.kind.title


def next_action(lot: Lot, steps: list[ProcessStep]) -> str:
    """Say what the lot waits for, in the words of the bench."""
    if is_cancelled(lot):
        return "Nothing: cancelled"
    if is_on_hold(lot):
        return "QA to review the hold"
    waiting = guards.unverified(steps)
    if waiting:
        return f"Verify {in_sentence(step_title(waiting[0]))}"
    kinds = next_kinds(lot)
    if StepKind.HARVEST in kinds:
        return "Culture day count or harvest"
    if kinds:
        return f"Record {in_sentence(kinds[0].title)}"
    return "QA review and release" if awaits_release(lot) else ""


def culture_day_today(steps: list[ProcessStep]) -> int | None:
    """Days since culture day 0, for a lot still in culture."""
    day0 = next((s for s in steps if s.kind == StepKind.CULTURE_DAY0), None)
    harvested = any(s.kind == StepKind.HARVEST for s in steps)
    return culture_day_since(day0.performed_at if day0 else None, harvested)


def culture_day_since(day0_at: datetime | None, harvested: bool) -> int | None:
    """Today's culture day of a lot seeded at `day0_at`, while it is not harvested."""
    if day0_at is None or harvested:
        return None
    return days_since_day0(day0_at, clock.now())


def awaiting_verification() -> list[ProcessStep]:
    return list(db.session.scalars(select(ProcessStep).where(ProcessStep.status == StepStatus.PERFORMED)
                                   .order_by(ProcessStep.performed_at)))
