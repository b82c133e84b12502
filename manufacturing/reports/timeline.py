"""Each patient's timeline: enrolment, each collection and its lot's steps, releases, infusions, a stop.

Beside it the two clocks of the trial: the time from collection to processing (the CD3 depletion) against the
product specification's limit, and the days between infusions against the study's minimum interval.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from manufacturing.core.audit import AuditEvent
from manufacturing.dispensing.models import Administration
from manufacturing.lots.models import Lot
from manufacturing.patients.models import Subject
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.entries import collected_at, hours_between
from manufacturing.processing.models import DoseUnit, ProcessStep, StepKind
from manufacturing.processing.rules import culture_day
from manufacturing.release.models import Disposition
from manufacturing.units import Quantity


@dataclass(frozen=True)
class Event:
    at: datetime  # UTC
    what: str
    lot_number: str = ""


@dataclass(frozen=True)
class Processing:
    """One lot's time from collection to the start of processing (CD3 depletion) against the limit."""

    lot_number: str
    hours: Quantity
    limit: Quantity

    @property
    def within(self) -> bool:
        return self.hours <= self.limit


@dataclass(frozen=True)
class Timeline:
    subject_code: str
    events: tuple[Event, ...]
    processing: tuple[Processing, ...]


def _collected(steps: list[ProcessStep]) -> datetime | None:
    receipt = next((step for step in steps if step.kind == StepKind.APHERESIS_RECEIPT), None)
    return collected_at(receipt) if receipt else None


def _culture_counts(lot: Lot, steps: list[ProcessStep]) -> list[Event]:
    """The daily counts as one line, at the first of them: "Culture days 1 to 14 counted"."""
    day0 = next((step for step in steps if step.kind == StepKind.CULTURE_DAY0), None)
    counts = [step for step in steps if step.kind == StepKind.CULTURE_DAY]
    if day0 is None or not counts:
        return []
    first, last = (culture_day(day0, step.performed_at) for step in (counts[0], counts[-1]))
    what = f"Culture day {first} counted" if len(counts) == 1 else (
        f"Culture days {first} to {last} counted ({len(counts)} counts)")
    return [Event(counts[0].performed_at, what, lot.lot_number)]


def _lot_events(lot: Lot, steps: list[ProcessStep], changes: list[Event]) -> tuple[list[Event], Processing | None]:
    events, collected = list(changes), _collected(steps)
    if collected is not None:
        events.append(Event(collected, "Collection (apheresis)", lot.lot_number))
    events += [Event(step.performed_at, step.kind.title, lot.lot_number) for step in steps
               if step.kind != StepKind.CULTURE_DAY] + _culture_counts(lot, steps)
    depletion = next((step for step in steps if step.kind == StepKind.CD3_DEPLETION), None)
    if collected is None or depletion is None:
        return events, None
    limit = lot_spec(lot).max_collection_to_processing
    return events, Processing(lot.lot_number, hours_between(collected, depletion.performed_at), limit)


LOT_CHANGES = {"lot.put_on_hold": "Lot put on hold", "lot.hold_lifted": "Hold lifted", "lot.cancelled": "Lot cancelled"}


def _lot_changes(session: Session, lots: dict[int, list[Lot]]) -> dict[int, list[Event]]:
    """Holds, their lifting and cancellations, by lot id, at the time the audit trail recorded them."""
    numbers = {str(lot.id): lot for of_subject in lots.values() for lot in of_subject}
    found: dict[int, list[Event]] = {}
    query = (select(AuditEvent.entity_id, AuditEvent.action, AuditEvent.occurred_at)
             .where(AuditEvent.action.in_(LOT_CHANGES), AuditEvent.entity_type == "lot"))
    for entity_id, action, occurred_at in session.execute(query):
        lot = numbers.get(entity_id)
        if lot is not None:
            what = LOT_CHANGES[action] + (f": {lot.cancel_reason}" if action == "lot.cancelled" else "")
            found.setdefault(lot.id, []).append(Event(occurred_at, what, lot.lot_number))
    return found


def _decision_events(session: Session) -> dict[int, list[Event]]:
    """Each QA decision on a unit, by subject: released (interim or final, exceptional) or rejected."""
    found: dict[int, list[Event]] = {}
    query = (select(Lot.subject_id, Lot.lot_number, DoseUnit.division_code, Disposition)
             .join(DoseUnit, Disposition.dose_unit_id == DoseUnit.id).join(Lot, DoseUnit.lot_id == Lot.id))
    for subject_id, number, division, decision in session.execute(query):
        what = f"Unit {division}: {decision.decision.title.lower()}" + (" (exceptional)" if decision.exceptional
                                                                         else "")
        found.setdefault(subject_id, []).append(Event(decision.decided_at, what, number))
    return found


def _infusion_events(session: Session) -> dict[int, list[Event]]:
    found: dict[int, list[Event]] = {}
    query = (select(Lot.subject_id, Lot.lot_number, DoseUnit.division_code, DoseUnit.infusion_number,
                    Administration.started_at).join(DoseUnit, Administration.dose_unit_id == DoseUnit.id)
             .join(Lot, DoseUnit.lot_id == Lot.id))
    for subject_id, number, division, infusion, started_at in session.execute(query):
        found.setdefault(subject_id, []).append(Event(started_at, f"Infusion {infusion} (unit {division})", number))
    return found


def timelines(session: Session, steps: dict[int, list[ProcessStep]]) -> list[Timeline]:
    """Every subject's timeline in time order; `steps` are each lot's steps in order, by lot id."""
    lots: dict[int, list[Lot]] = {}
    for lot in session.scalars(select(Lot).order_by(Lot.opened_at, Lot.id)):
        lots.setdefault(lot.subject_id, []).append(lot)
    decisions, infusions = _decision_events(session), _infusion_events(session)
    changes = _lot_changes(session, lots)
    result = []
    for subject in session.scalars(select(Subject).options(selectinload(Subject.stop))
                                   .order_by(Subject.created_at, Subject.id)):
        events, processing = [Event(subject.created_at, "Enrolled")], []
        for lot in lots.get(subject.id, []):
            of_lot, timing = _lot_events(lot, steps.get(lot.id, []), changes.get(lot.id, []))
            events += of_lot
            processing += [timing] if timing else []
        events += decisions.get(subject.id, []) + infusions.get(subject.id, [])
        if subject.stop is not None:
            events.append(Event(subject.stop.recorded_at, f"Off study: {subject.stop.reason.title.lower()}"))
        result.append(Timeline(subject.subject_code, tuple(sorted(events, key=lambda event: event.at)),
                               tuple(processing)))
    return result
