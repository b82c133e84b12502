"""The verbs of patients: register and correct a subject, record a body weight, order and cancel an infusion."""

from dataclasses import dataclass, fields
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from manufacturing.core import clock
from manufacturing.core.checks import require_reason, required_text
from manufacturing.core.errors import DomainError, NotPermitted
from manufacturing.core.plausible import read_typed
from manufacturing.core.signatures import Meaning, sign
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.patients import guards, plan
from manufacturing.patients.guards import SubjectDetails
from manufacturing.patients.models import BodyWeight, InfusionOrder, OrderStatus, StopReason, StudyStop, Subject
from manufacturing.patients.signals import (
    administered_dates,
    dose_units_made,
    latest_infusion_start,
    subject_code_problem,
)
from manufacturing.specifications import registry
from manufacturing.specifications.dose_limits import dose_maxima
from manufacturing.specifications.model import DoseLevel, StudySpec
from manufacturing.units import to_lab_unit


@dataclass(frozen=True)
class OrderEntry:
    """The physician's order as pharmacy records it."""

    infusion_number: int
    dose_level: int
    body_weight_id: int
    planned_date: date
    prescriber: str
    order_reference: str


def _refuse(problem: str | None) -> None:
    if problem:
        raise DomainError(problem)


def _flush(duplicate: str) -> None:
    """Flush; a unique key taken meanwhile by another user is refused with a message."""
    try:
        db.session.flush()
    except IntegrityError as error:
        raise DomainError(duplicate) from error


def stop_of(subject_id: int) -> StudyStop | None:
    """The subject's stop as committed now (read afresh: a stop recorded meanwhile by another user counts)."""
    return db.session.scalar(select(StudyStop).where(StudyStop.subject_id == subject_id)
                             .execution_options(populate_existing=True))


def refuse_off_study(subject_id: int, consequence: str) -> None:
    """Refuse an act of treatment (an order, a lot, an issue) for a subject who is off study."""
    _refuse(guards.off_study_problem(stop_of(subject_id), consequence))


def find_subject(subject_code: str) -> Subject | None:
    return db.session.scalar(select(Subject).where(Subject.subject_code == subject_code.strip().upper()))


def _check_code_free(code: str, subject: Subject | None = None) -> None:
    other = find_subject(code)
    if other is not None and other is not subject:
        raise DomainError(f"The study subject ID {code} is already registered.")


def register_subject(user, details: SubjectDetails) -> Subject:
    """Register a study subject (pharmacy or QA); adults only."""
    if not guards.may_register_subjects(user):
        raise NotPermitted("Only pharmacy or QA register study subjects.")
    details = details.normalised()
    _refuse(guards.subject_problem(details, clock.today(), registering=True))
    _check_code_free(details.subject_code)
    subject = Subject(subject_code=details.subject_code, initials=details.initials,
                      date_of_birth=details.date_of_birth, sex=details.sex, site=details.site,
                      created_at=clock.now())
    db.session.add(subject)
    _flush(f"The study subject ID {details.subject_code} is already registered.")
    return subject


def correct_subject(user, subject: Subject, details: SubjectDetails, reason: str) -> None:
    """Correct a subject's data with a reason; the ID only while no lot carries it on its labels."""
    if not guards.may_register_subjects(user):
        raise NotPermitted("Only pharmacy or QA correct subject data.")
    details = details.normalised()
    _refuse(guards.subject_problem(details, clock.today(), registering=False))
    changed = [f.name for f in fields(details) if getattr(subject, f.name) != getattr(details, f.name)]
    if not changed:
        raise DomainError("Nothing to correct: the values entered are those recorded.")
    if "subject_code" in changed:
        _refuse(subject_code_problem(subject))
        _check_code_free(details.subject_code, subject)
    require_reason(db.session, reason, "correcting the subject's data")
    for name in changed:
        setattr(subject, name, getattr(details, name))
    _flush(f"The study subject ID {details.subject_code} is already registered.")


def record_body_weight(user, subject: Subject, entered: str, measured_on: date) -> BodyWeight:
    """Record a dated body weight as typed (e.g. "64.5 kg"); implausible values are refused."""
    if not guards.may_record_weights(user):
        raise NotPermitted("Only pharmacy or QA record body weights.")
    entered = (entered or "").strip()
    if len(entered) > 60:
        raise DomainError("A body weight may have at most 60 characters.")
    weight = to_lab_unit(read_typed(entered, "kg", "body_weight", "Body weight"), "kg")
    _refuse(guards.weight_problem(weight, measured_on, clock.today(), subject.date_of_birth))
    body_weight = BodyWeight(subject=subject, weight=weight, entered=entered, measured_on=measured_on,
                             recorded_at=clock.now(), recorded_by_id=user.id)
    db.session.add(body_weight)
    db.session.flush()
    return body_weight


def _check_order(subject: Subject, entry: OrderEntry, spec: StudySpec) -> tuple[BodyWeight, DoseLevel]:
    """Check an order against the schedule, the interval and the weight age; return the weight and level."""
    orders = plan.active_orders(subject.orders)
    _refuse(guards.infusion_number_problem(entry.infusion_number, len(orders) + 1, spec.max_infusions))
    levels = plan.next_levels(spec, subject.orders)
    level = next((item for item in spec.dose_schedule if item.infusion == entry.dose_level), None)
    if level is None:
        raise DomainError(f"The study schedule has no dose level {entry.dose_level}.")
    product = registry.product_spec()
    maxima = dose_maxima(product, [spec])
    _refuse(guards.dose_problem(level.dose_per_kg, [item.dose_per_kg for item in levels],
                                entry.infusion_number, maxima))
    last = plan.previous_date(subject.orders, entry.infusion_number, administered_dates(subject))
    earliest = plan.earliest_date(spec, last, clock.today()) if last else None
    why = f"at least {plan.interval_days(spec)} days after infusion {entry.infusion_number - 1} ({last})"
    _refuse(guards.planned_date_problem(entry.planned_date, clock.today(), earliest, why))
    weight = db.session.get(BodyWeight, entry.body_weight_id)
    if weight is None or weight.subject_id != subject.id:
        raise DomainError("Choose one of this subject's body weights (record one first if there is none).")
    max_age = product.limit("dose_preparation", "body_weight_age").action_above
    _refuse(guards.weight_age_problem(weight.measured_on, entry.planned_date, max_age.m_as("day")))
    return weight, level


def record_order(user, subject: Subject, entry: OrderEntry) -> InfusionOrder:
    """Record the physician's order for the next infusion, pinning the study specification in force."""
    if not guards.may_order_infusions(user):
        raise NotPermitted("Only pharmacy records infusion orders.")
    lock(subject)
    refuse_off_study(subject.id, "no further infusion can be ordered")
    prescriber, reference = entry.prescriber.strip(), entry.order_reference.strip()
    if not prescriber or not reference:
        raise DomainError("Give the prescribing physician and the order reference.")
    spec = registry.pin(registry.STUDY_SPEC_ID)
    weight, level = _check_order(subject, entry, spec)
    order = InfusionOrder(
        subject=subject, infusion_number=entry.infusion_number, dose_per_kg=level.dose_per_kg,
        body_weight_id=weight.id, planned_date=entry.planned_date, prescriber=prescriber,
        order_reference=reference, study_spec_id=spec.id, study_spec_version=spec.version,
        study_spec_hash=spec.content_hash, status=OrderStatus.OPEN, recorded_at=clock.now(),
        recorded_by_id=user.id,
    )
    db.session.add(order)
    _flush(f"Infusion {entry.infusion_number} was ordered meanwhile by someone else: reload the page.")
    return order


def cancel_order(user, order: InfusionOrder, reason: str) -> None:
    """Cancel an open order with a reason, while no dose unit was made for it."""
    if not guards.may_order_infusions(user):
        raise NotPermitted("Only pharmacy cancels infusion orders.")
    dose_units = dose_units_made(order)
    later = [other.infusion_number for other in plan.active_orders(order.subject.orders).values()
             if other.infusion_number > order.infusion_number]
    _refuse(guards.cancel_problem(order, dose_units, min(later, default=None)))
    order.cancel_reason = require_reason(db.session, reason, "cancelling the order")
    order.status = OrderStatus.CANCELLED
    db.session.flush()


def take_off_study(user, subject: Subject, reason: StopReason, stopped_on: date, detail: str, password: str,
                   username: str) -> StudyStop:
    """Record, signed, that a subject is off study and why; open orders with no dose unit made are cancelled.

    From then on no infusion is ordered or issued and no lot is opened for the subject. A stop is never undone.
    """
    if not guards.may_take_off_study(user):
        raise NotPermitted("Only pharmacy or QA record that a subject is off study.")
    lock(subject)
    for order in plan.active_orders(subject.orders).values():
        lock(order)  # an issue against the order waits for the stop, or the stop for the issue
    refuse_off_study(subject.id, "a subject goes off study once")
    if not isinstance(reason, StopReason):
        raise DomainError("Choose why the subject is off study: toxicity, manufacturing failure, withdrawal "
                          "of consent, or other.")
    last_start = latest_infusion_start(subject)
    _refuse(guards.started_ahead_problem(last_start, clock.now()))
    _refuse(guards.stop_date_problem(stopped_on, clock.local_date(subject.created_at), clock.today(),
                                     clock.local_date(last_start) if last_start else None))
    detail = required_text(detail, "What happened (in words)", 4000)
    require_reason(db.session, detail, "taking the subject off study")
    stop = StudyStop(subject=subject, reason=reason, stopped_on=stopped_on, detail=detail,
                     recorded_at=clock.now(), recorded_by_id=user.id)
    db.session.add(stop)
    sign(stop, Meaning.OFF_STUDY, user, password, username=username)
    for order in plan.active_orders(subject.orders).values():
        if guards.is_open_order(order) and not dose_units_made(order):
            order.status, order.cancel_reason = OrderStatus.CANCELLED, f"Subject off study: {reason.title.lower()}"
    db.session.flush()
    return stop
