"""The verbs of the bench: receive an apheresis, record a step, verify it, correct it."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from manufacturing.core import clock
from manufacturing.core.checks import require_reason
from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence
from manufacturing.core.signatures import Meaning, sign
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.lots import din as din_codes
from manufacturing.lots.guards import closed_problem
from manufacturing.lots.models import Lot
from manufacturing.lots.operations import open_lot
from manufacturing.lots.states import LOT
from manufacturing.patients.models import Subject
from manufacturing.processing import guards
from manufacturing.processing.entries import Entry, StepInput, read_entries
from manufacturing.processing.kinds import StepDefinition, definition
from manufacturing.processing.models import (
    DoseUnit,
    ProcessStep,
    StepEquipment,
    StepKind,
    StepMaterial,
    StepStatus,
    StepValue,
)
from manufacturing.processing.rules import check_consistency, culture_day_number
from manufacturing.processing.signals import announce_correction, verification_problem
from manufacturing.processing.states import STEP
from manufacturing.processing.uses import set_uses

FUTURE_TOLERANCE = timedelta(minutes=5)


def lot_steps(lot: Lot) -> list[ProcessStep]:
    query = select(ProcessStep).where(ProcessStep.lot_id == lot.id).order_by(ProcessStep.performed_at,
                                                                             ProcessStep.id)
    return list(db.session.scalars(query))


def steps_with_entries(lot: Lot) -> list[ProcessStep]:
    """The lot's steps with their values, materials, equipment and dose units, in a fixed number of queries."""
    query = select(ProcessStep).where(ProcessStep.lot_id == lot.id).order_by(ProcessStep.performed_at,
                                                                             ProcessStep.id)
    return list(db.session.scalars(query.options(
        selectinload(ProcessStep.values),
        selectinload(ProcessStep.materials).joinedload(StepMaterial.material_lot),
        selectinload(ProcessStep.equipment).joinedload(StepEquipment.item),
        selectinload(ProcessStep.dose_units).joinedload(DoseUnit.weight_record))))


def check_time(performed_at, kind: StepKind, before: list[ProcessStep], after: list[ProcessStep] = ()) -> None:
    """The time of a step is not in the future and keeps its place between the steps around it."""
    if performed_at > clock.now() + FUTURE_TOLERANCE:
        raise DomainError(f"The time given for the {kind.title.lower()} "
                          f"({clock.format_local(performed_at)}) is in the future.")
    for step in before:
        if performed_at < step.performed_at:
            raise OutOfSequence(f"The {kind.title.lower()} cannot be dated before the {step.kind.title.lower()} "
                                f"({clock.format_local(step.performed_at)}).")
    for step in after:
        if performed_at > step.performed_at:
            raise OutOfSequence(f"The {kind.title.lower()} cannot be dated after the {step.kind.title.lower()} "
                                f"that follows it ({clock.format_local(step.performed_at)}).")


def check_can_record(lot: Lot, step: StepDefinition, user, history: list[ProcessStep]) -> None:
    if not guards.is_technician(user):
        raise NotPermitted("Only cell-processing technicians record process steps.")
    if (problem := closed_problem(lot, "it accepts no step")):
        raise OutOfSequence(problem)
    if not step.repeatable and any(done.kind == step.kind for done in history):
        raise OutOfSequence(f"The {step.kind.title.lower()} of lot {lot.lot_number} is already recorded; "
                            "correct it instead.")
    if not guards.in_sequence(lot, step, history):
        raise OutOfSequence(f"The {step.kind.title.lower()} cannot be recorded now: lot {lot.lot_number} is "
                            f"{lot.state.title.lower()}.")
    waiting = guards.unverified(history)
    if waiting:
        raise OutOfSequence(f"The {waiting[0].kind.title.lower()} is not verified yet: a second technician "
                            "must verify it before the next step is recorded.")


def advance_lot(lot: Lot, step_definition: StepDefinition) -> None:
    """Move the lot on by the transition this step makes (the receipt opens it)."""
    if step_definition.lot_action is not None:
        LOT.move(lot, step_definition.lot_action)


def _set_values(step: ProcessStep, entries: dict[str, Entry]) -> bool:
    """Bring the step's values in line with the entries; return whether anything changed."""
    changed = False
    current = {value.key: value for value in step.values}
    for key, value in current.items():
        if key not in entries:
            step.values.remove(value)
            changed = True
    for key, entry in entries.items():
        value = current.get(key)
        if value is None:
            step.values.append(StepValue(key=key, quantity=entry.quantity, text=entry.text, entered=entry.entered))
            changed = True
        elif (value.entered, value.text) != (entry.entered, entry.text) or value.quantity != entry.quantity:
            value.quantity, value.text, value.entered = entry.quantity, entry.text, entry.entered
            changed = True
    return changed


def _record(lot: Lot, kind: StepKind, given: StepInput, user, password: str, username: str) -> ProcessStep:
    lock(lot)
    step_definition = definition(kind)
    history = lot_steps(lot)
    check_can_record(lot, step_definition, user, history)
    check_time(given.performed_at, kind, history)
    entries = read_entries(step_definition, given.values, given.unit_printed)
    check_consistency(kind, entries, history, given.performed_at)
    step = ProcessStep(lot_id=lot.id, kind=kind, performed_at=given.performed_at, recorded_at=clock.now(),
                       performed_by_id=user.id, observations=given.observations.strip() or None,
                       status=StepStatus.PERFORMED, day_number=culture_day_number(kind, history, given.performed_at))
    _set_values(step, entries)
    set_uses(step, step_definition, given)
    db.session.add(step)
    advance_lot(lot, step_definition)
    sign(step, Meaning.PERFORMED, user, password, username=username)
    return step


def receive_apheresis(subject_code: str, din_text: str, given: StepInput, user, password: str,
                      username: str) -> Lot:
    """Open a lot for the bag of one subject and record its receipt, signed as performed."""
    if not guards.is_technician(user):
        raise NotPermitted("Only cell-processing technicians receive apheresis products.")
    code = (subject_code or "").strip().upper()
    subject = db.session.scalar(select(Subject).where(Subject.subject_code == code))
    if subject is None:
        raise DomainError(f"No subject {code or '(blank)'} is registered: check the wristband or the bag "
                          "label, or ask pharmacy to register the subject.")
    lot = open_lot(subject, din_codes.parse(din_text), user)
    _record(lot, StepKind.APHERESIS_RECEIPT, given, user, password, username)
    return lot


def record_step(lot: Lot, kind: StepKind, given: StepInput, user, password: str, username: str) -> ProcessStep:
    """Record one step of a lot, checked against the sequence, signed as performed."""
    if kind in (StepKind.APHERESIS_RECEIPT, StepKind.DOSE_PREPARATION):
        raise OutOfSequence(f"The {kind.title.lower()} has its own form.")
    return _record(lot, kind, given, user, password, username)


def verify_step(step: ProcessStep, user, password: str, username: str) -> None:
    """Verify a step as the second person (never its performer); action breaches need a deviation."""
    lock(step.lot)
    lock(step)
    if (refusal := guards.verify_refusal(step, user)):
        raise refusal
    if (problem := verification_problem(step)):
        raise OutOfSequence(problem)
    sign(step, Meaning.VERIFIED, user, password, username=username)
    STEP.move(step, "verified")
    step.verified_by_id, step.verified_at = user.id, clock.now()


def correct_step(step: ProcessStep, given: StepInput, reason: str, user, password: str, username: str) -> None:
    """Correct a signed step: the reason and old values go to the trail; it must be verified again."""
    lock(step.lot)
    lock(step)
    if not guards.is_technician(user):
        raise NotPermitted("Only cell-processing technicians correct process steps.")
    if (problem := closed_problem(step.lot, "no step of it is corrected until QA lifts the hold")):
        raise OutOfSequence(problem)
    if (problem := guards.correction_problem(step)):
        raise DomainError(problem)
    reason = require_reason(db.session, reason, "the correction: it is kept with the old values")
    step_definition = definition(step.kind)
    history = lot_steps(step.lot)
    earlier = [other for other in history if other.id < step.id]
    check_time(given.performed_at, step.kind, earlier, [other for other in history if other.id > step.id])
    entries = read_entries(step_definition, given.values, given.unit_printed)
    check_consistency(step.kind, entries, earlier, given.performed_at)
    changed = _set_values(step, entries) | set_uses(step, step_definition, given)
    changed |= _update_fields(step, given, earlier)
    if not changed:
        raise DomainError("Nothing was changed: the record stays as signed.")
    STEP.move(step, "corrected")
    step.verified_by_id, step.verified_at, step.revision = None, None, step.revision + 1
    sign(step, Meaning.PERFORMED, user, password, username=username, comment=f"Correction: {reason}")
    announce_correction(step, reason)


def _update_fields(step: ProcessStep, given: StepInput, earlier: list[ProcessStep]) -> bool:
    observations = given.observations.strip() or None
    day_number = culture_day_number(step.kind, earlier, given.performed_at)
    before = (step.performed_at, step.observations, step.day_number)
    step.performed_at, step.observations, step.day_number = given.performed_at, observations, day_number
    return before != (step.performed_at, step.observations, step.day_number)
