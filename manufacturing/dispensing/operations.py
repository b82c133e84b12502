"""The verbs of the pharmacy: issue a released dose, check it at the bedside, record its administration."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from manufacturing.calculations import dose_deviation, dose_per_kg
from manufacturing.core import clock
from manufacturing.core.audit import record_event
from manufacturing.core.checks import require_reason, required_text
from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence
from manufacturing.core.permissions import Role
from manufacturing.core.plausible import read_typed
from manufacturing.core.signatures import Meaning, sign
from manufacturing.core.transitions import lock
from manufacturing.dispensing import fitness, guards, queries
from manufacturing.dispensing.models import Administration, BedsideCheck, Issue
from manufacturing.extensions import db
from manufacturing.lots import din as din_codes
from manufacturing.patients import plan
from manufacturing.patients.models import InfusionOrder, OrderStatus
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.models import DoseKind, DoseState, DoseUnit
from manufacturing.processing.states import DOSE
from manufacturing.release.alerts import given_before_the_hold
from manufacturing.release.guards import held_at
from manufacturing.specifications import registry
from manufacturing.specifications.dose_limits import dose_maxima
from manufacturing.specifications.model import StudySpec
from manufacturing.units import Quantity, to_lab_unit

FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Checker:
    """One person at the bedside: who they are, their password, and what they read on wristband and bag."""

    user: object | None
    password: str
    username: str
    wristband: str
    bag_din: str
    bag_division: str


def _refuse(problem: str | None, ending: str = "") -> None:
    if problem:
        raise DomainError(problem + ending)


def _require_pharmacist(user, what: str) -> None:
    if not guards.is_pharmacist(user):
        raise NotPermitted(f"Only pharmacy {what}.")




def _locked_with_order(dose: DoseUnit) -> None:
    """Lock the lot, the unit and the order it was issued against: a stop of the subject locks the order too, so
    an act at the bedside is wholly before the stop or sees it."""
    issue = queries.issue_of(dose)
    _locked(dose.lot, dose, *((issue.order,) if issue is not None else ()))


def _locked(*records) -> None:
    """Lock the lot, then the unit, then the order: every act on a unit takes its locks in this order."""
    for record in records:
        lock(record)


def studies(dose: DoseUnit, order: InfusionOrder) -> list[StudySpec]:
    """Return the study specifications the lot and the order pinned: where they differ, the stricter rule holds."""
    lot = dose.lot
    pins = {(lot.study_spec_id, lot.study_spec_version, lot.study_spec_hash),
            (order.study_spec_id, order.study_spec_version, order.study_spec_hash)}
    return [registry.pinned(*pin) for pin in sorted(pins)]


def delivered_dose(dose: DoseUnit, order: InfusionOrder) -> tuple[Quantity, Quantity]:
    """Return the bag's dose per kg at the order's body weight, and its deviation from the ordered dose."""
    per_kg = dose_per_kg(dose.cells, order.body_weight.weight)
    return per_kg, dose_deviation(per_kg, order.dose_per_kg)


def _served_by_another(dose: DoseUnit, order: InfusionOrder) -> str | None:
    other = db.session.scalar(select(DoseUnit).where(
        DoseUnit.infusion_order_id == order.id, DoseUnit.id != dose.id,
        DoseUnit.state.in_((DoseState.ISSUED, DoseState.ADMINISTERED))))
    if other is None:
        return None
    return (f"Dose unit {other.division_code} of lot {other.lot.lot_number} is already {other.state.title.lower()} "
            f"on order {order.order_reference}.")


def _check_escalation(dose: DoseUnit, order: InfusionOrder) -> list[Quantity]:
    """Infusion k only after k-1 was given the interval earlier, never above its level; return the maxima."""
    specs, product, infusion = studies(dose, order), lot_spec(dose.lot), order.infusion_number
    interval = max(plan.interval_days(spec) for spec in specs)
    _refuse(guards.interval_problem(infusion, queries.administered_dates(order.subject), clock.today(), interval))
    maxima = dose_maxima(product, specs)
    level = min(spec.dose_for_infusion(infusion) for spec in specs)
    _refuse(guards.dose_level_problem(order.dose_per_kg, infusion, level, maxima))
    return maxima


def _check_issue(dose: DoseUnit, order: InfusionOrder, now: datetime) -> tuple[Quantity, Quantity]:
    """Check every rule of issue; return the dose per kg at the order's weight and its deviation."""
    _refuse_unfit(dose, now, "it cannot be issued")
    _refuse(DOSE.refusal(dose, "issued"))
    _refuse(guards.order_problem(order, dose.lot.subject_id, dose.infusion_number, dose.infusion_order_id))
    _refuse(_served_by_another(dose, order))
    maxima = _check_escalation(dose, order)
    per_kg, deviation = delivered_dose(dose, order)
    _refuse(guards.delivered_problem(per_kg, deviation, lot_spec(dose.lot).dose_tolerance, maxima))
    return per_kg, deviation


def _refuse_unfit(dose: DoseUnit, now: datetime, consequence: str) -> None:
    """Refuse an act on a unit that is not fit to give at this moment, naming every reason."""
    reasons = fitness.unfit_reasons(dose, now)
    if reasons:
        raise DomainError(f"Not fit to give, {consequence}: " + " ".join(reasons))


def _use_by(dose: DoseUnit, now: datetime) -> tuple[datetime | None, datetime]:
    """A cryopreserved unit is thawed at issue and keeps for the thawed shelf life; a fresh one until expiry."""
    if dose.kind != DoseKind.CRYOPRESERVED:
        return None, dose.expiry_at
    shelf = lot_spec(dose.lot).thawed_shelf_life.duration
    return now, min(dose.expiry_at, now + timedelta(seconds=shelf.m_as("second")))


def issue_dose(dose: DoseUnit, order: InfusionOrder, user, password: str, username: str, collector_name: str,
               identity_confirmed: bool) -> Issue:
    """Issue a released, unexpired unit against its subject's open order, signed as issued."""
    _require_pharmacist(user, "issues dose units")
    _locked(dose.lot, dose, order)
    now = clock.now()
    per_kg, deviation = _check_issue(dose, order, now)
    collector = required_text(collector_name, "The name of the person collecting the dose", 120)
    if not identity_confirmed:
        raise DomainError("Check the collector's identity together with them, then confirm it: nothing was issued.")
    thawed_at, use_by = _use_by(dose, now)
    issue = Issue(dose=dose, order=order, issued_at=now, issued_by_id=user.id, collector_name=collector,
                  dose_per_kg=per_kg, dose_deviation=deviation, thawed_at=thawed_at, use_by=use_by)
    db.session.add(issue)
    dose.infusion_order_id = order.id
    sign(issue, Meaning.ISSUED, user, password, username=username)
    DOSE.move(dose, "issued")
    return issue


def _division(text: str, product_code: str) -> tuple[str, str | None]:
    """Read the division from a scanned (or typed) product code, or as typed: 2 characters as printed."""
    entry = (text or "").strip()
    if not entry:
        raise DomainError("Scan the bag's product code or type its division code (e.g. A0).")
    if entry.startswith(din_codes.PRODUCT_CODE_DATA_IDENTIFIER) or len(re.sub(r"\s+", "", entry)) == 8:
        code = din_codes.ProductCode.parse(entry)
        return code.division, code.description
    return din_codes.ProductCode(product_code, division=entry).division, None  # checks the division's format


def read_bag(checker: Checker, product_code: str) -> guards.BagReading:
    """Read one person's entries: the wristband's subject ID, the bag's DIN (scan or keyboard) and division."""
    name = checker.user.full_name
    wristband = (checker.wristband or "").strip().upper()
    try:
        if not wristband:
            raise DomainError("scan or type the subject ID on the patient's wristband.")
        return guards.BagReading(wristband, din_codes.parse(checker.bag_din), *_division(checker.bag_division,
                                                                                          product_code))
    except DomainError as error:
        raise DomainError(f"{name}: {error.message}") from error


def _stop_on_mismatch(dose: DoseUnit, issue: Issue, readings: list[guards.BagReading],
                      checkers: tuple[Checker, Checker]) -> None:
    """Refuse a check that does not match the order and the unit; the refusal stays in the audit trail."""
    expected = guards.Expected(issue.order.subject.subject_code, dose.lot.din_record, dose.division_code,
                               lot_spec(dose.lot).isbt128_product_code)
    unfit = [reason.rstrip(".") for reason in fitness.unfit_reasons(dose, clock.now())]
    message = guards.stop_message(unfit,
                                  *(guards.identity_problems(reading, expected) for reading in readings),
                                  names=tuple(checker.user.full_name for checker in checkers))
    if message is None:
        return
    changes = {"message": message}
    for checker, side in zip(checkers, ("first", "second"), strict=True):
        changes |= {f"{side}_checker": checker.user.username, f"wristband_{side}": checker.wristband,
                    f"bag_din_{side}": checker.bag_din, f"bag_division_{side}": checker.bag_division}
    dose_id, scope = dose.id, f"lot:{dose.lot_id}"

    def record_mismatch() -> None:
        record_event(db.session, queries.MISMATCH, "dose_unit", dose_id,
                     {key: {"new": value} for key, value in changes.items()}, scope=scope)

    raise DomainError(message, after_rollback=(record_mismatch,))


def _as_entered(checker: Checker, side: str) -> dict[str, str]:
    """Keep one person's entries as they were scanned or typed."""
    return {f"wristband_{side}": required_text(checker.wristband, "The wristband entry", 60),
            f"bag_din_{side}": required_text(checker.bag_din, "The bag DIN entry", 60),
            f"bag_division_{side}": required_text(checker.bag_division, "The bag division entry", 20)}


def bedside_check(dose: DoseUnit, first: Checker, second: Checker, appearance_ok: bool) -> BedsideCheck:
    """Two pharmacy users match wristband and bag with the order and the unit; both sign a match."""
    _require_pharmacist(first.user, "checks dose units at the bedside")
    _refuse(guards.checkers_problem(first.user, second.user))
    _locked_with_order(dose)
    if not DOSE.allows(dose, "administered"):
        raise OutOfSequence(f"This dose unit is {dose.state.title.lower()}: only an issued unit is checked "
                            "at the bedside.")
    if not appearance_ok:
        raise DomainError("Confirm the bag's appearance (intact, labelled, no clumps or leaks): if it is not as it "
                          "should be, STOP and return the dose unit.")
    issue = queries.issue_of(dose)
    readings = [read_bag(checker, lot_spec(dose.lot).isbt128_product_code) for checker in (first, second)]
    check = BedsideCheck(dose=dose, order_id=issue.order_id, checked_at=clock.now(), first_checker_id=first.user.id,
                         second_checker_id=second.user.id, appearance_ok=True, **_as_entered(first, "first"),
                         **_as_entered(second, "second"))
    db.session.add(check)
    # Both sign before the entries are compared: their passwords make a refused check attributable to both.
    # A mismatch rolls the record and both signatures back and keeps only the audit event.
    for checker, meaning in zip((first, second), (Meaning.BEDSIDE_CHECKED, Meaning.BEDSIDE_SECOND_CHECKED),
                                strict=True):
        sign(check, meaning, checker.user, checker.password, username=checker.username)
    _stop_on_mismatch(dose, issue, readings, (first, second))
    return check


def record_administration(dose: DoseUnit, user, password: str, username: str, started_at: datetime,
                          ended_at: datetime, volume_infused_text: str, administered_by: str, appearance: str,
                          adverse_reactions: str, deviations: str | None = None) -> Administration:
    """Record what was given, when and by whom after a bedside check; the order is fulfilled."""
    _require_pharmacist(user, "records administrations")
    _locked_with_order(dose)
    _refuse(DOSE.refusal(dose, "administered"))
    check = queries.latest_check(dose)
    held = held_at(dose) if dose.state == DoseState.ON_HOLD and check is not None else None
    if held is None:
        _refuse_unfit(dose, started_at, "the infusion may not start")
    else:  # given before the hold: only the subject's stop still counts
        _refuse(fitness.subject_problem(dose, started_at))
    if check is None:
        raise OutOfSequence("No bedside check is recorded for this dose unit: two people check it at the bedside "
                            "before the infusion is recorded.")
    _refuse(guards.stopped_problem(queries.check_event(check), queries.last_mismatch_event(dose)))
    if held is not None:
        _refuse(guards.given_before_hold_problem(started_at, check.checked_at, held))
    issue = queries.issue_of(dose)
    _refuse(guards.administration_problem(started_at, ended_at, check.checked_at, issue.use_by,
                                          clock.now() + FUTURE_TOLERANCE))
    volume = to_lab_unit(read_typed(volume_infused_text, "mL", "infusion.volume", "Volume infused"), "mL")
    _refuse(guards.volume_problem(volume, dose.final_volume))
    administration = Administration(
        dose=dose, bedside_check_id=check.id, started_at=started_at, ended_at=ended_at, volume_infused=volume,
        administered_by=required_text(administered_by, "Who administered", 120),
        appearance=required_text(appearance, "The appearance of the product", 200),
        adverse_reactions=required_text(adverse_reactions, "Adverse reactions (write 'none' if none)", 4000),
        deviations=(deviations or "").strip() or None, recorded_at=clock.now(), recorded_by_id=user.id)
    db.session.add(administration)
    sign(administration, Meaning.ADMINISTERED, user, password, username=username)
    issue.order.status = OrderStatus.FULFILLED
    DOSE.move(dose, "administered")
    if held is not None:
        given_before_the_hold(dose, started_at)
    return administration


def return_dose(dose: DoseUnit, user, reason: str) -> None:
    """Take back an issued unit that was not given; it is never issued again."""
    _require_pharmacist(user, "returns dose units")
    _locked(dose.lot, dose)
    _refuse(DOSE.refusal(dose, "returned"))
    if queries.issue_of(dose) is None:
        raise OutOfSequence(f"Dose unit {dose.division_code} was never issued: there is nothing to return. "
                            "Discard it, with the reason, if it will never be given.")
    require_reason(db.session, reason, "returning the dose unit (why it was not given)")
    DOSE.move(dose, "returned")


def discard_dose(dose: DoseUnit, user, reason: str) -> None:
    """Destroy a unit that will never be given (expired, returned, rejected); the reason is kept."""
    if not (guards.is_pharmacist(user) or user.has_role(Role.QA)):
        raise NotPermitted("Only pharmacy or QA discards dose units.")
    _locked(dose.lot, dose)
    _refuse(DOSE.refusal(dose, "discarded"))
    require_reason(db.session, reason, "discarding the dose unit")
    DOSE.move(dose, "discarded")
