"""QC results: entered per test and sample of the pinned spec, judged at once, verified by a second person.

A signed result is never changed: a wrong entry is followed by a recalculation or a retest with the reason,
and every earlier result stays on the record. An out-of-specification result opens an OOS investigation
(a deviation linked to the result) and, on a dose already released, a post-release alert.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from manufacturing.core import clock
from manufacturing.core.audit import record_event, set_reason
from manufacturing.core.checks import require_reason
from manufacturing.core.errors import DomainError, NotPermitted, OutOfSequence
from manufacturing.core.permissions import Role
from manufacturing.core.plausible import read_typed, refuse_implausible
from manufacturing.core.signatures import Meaning, Signature, SignatureBook, is_intact, sign, signatures_of
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.lots.guards import is_cancelled
from manufacturing.lots.models import Lot
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.models import DoseUnit, StepKind
from manufacturing.processing.operations import FUTURE_TOLERANCE, lot_steps
from manufacturing.quality.models import Deviation, DeviationClass, QcKind, QcResult, QcStatus
from manufacturing.quality.operations import open_deviation
from manufacturing.quality.results import evaluate_result, is_computed, is_lot_test, release_lines, results_of_lot
from manufacturing.quality.signals import announce_failure
from manufacturing.quality.states import QC_RESULT
from manufacturing.specifications.evaluation import Evaluation, Outcome, evaluate
from manufacturing.specifications.model import Criterion, DoseCriterion, ProductSpec, QualitativeCriterion
from manufacturing.units import Quantity, QuantityError, dimension_name, parse_quantity, same_dimension, unit_label

# The clear negative answer offered beside each accepted answer of a qualitative test.
NEGATIVE_ANSWERS = {"no growth": "growth", "no organisms seen": "organisms seen", "negative": "positive",
                    "conforms": "does not conform"}
FALLBACK_NEGATIVE = "does not conform"


def may_enter(user) -> bool:
    """Technicians and QA record and verify QC results."""
    return user.has_role(Role.TECHNICIAN) or user.has_role(Role.QA)


def answers(criterion: QualitativeCriterion) -> tuple[str, ...]:
    """Return the answers offered for a qualitative test: those that pass, then the negative ones."""
    negatives = [NEGATIVE_ANSWERS.get(answer.casefold(), FALLBACK_NEGATIVE) for answer in criterion.accept]
    return tuple(dict.fromkeys([*criterion.accept, *negatives]))


def where(dose: DoseUnit | None) -> str:
    """Name what a sample was taken from, e.g. "dose unit A0" or "the lot"."""
    return f"dose unit {dose.division_code}" if dose is not None else "the lot"


# ---- reading an entry ----------------------------------------------------------------------

def _read_answer(criterion: QualitativeCriterion, entered: str) -> str:
    typed = " ".join(entered.split())
    for answer in answers(criterion):
        if typed.casefold() == answer.casefold():
            return answer
    offered = " or ".join(f'"{answer}"' for answer in answers(criterion))
    raise DomainError(f'{criterion.name}: "{typed}" is not an answer of this test; choose {offered}.')


def _read_dose(entered: str) -> Quantity:
    """Read the dose as viable NK cells in the bag ("6.2e7 cells") or per kg ("9.7e5 cells/kg")."""
    quantity = parse_quantity(entered)
    if not (same_dimension(quantity, "cells") or same_dimension(quantity, "cells/kg")):
        raise QuantityError(f"{entered.strip()} is {dimension_name(quantity)}: enter the viable NK cells in the bag "
                            "(e.g. 6.2 × 10⁷ cells) or the dose per kg (e.g. 9.7 × 10⁵ cells/kg)")
    return refuse_implausible(quantity, entered)


def _read_measured(criterion: Criterion, entered: str) -> Quantity:
    return read_typed(entered, unit_label(criterion.unit, plain=True), f"release.{criterion.key}")


def read_entry(criterion: Criterion, entered: str) -> tuple[Quantity | None, str | None]:
    """Read what was entered for a test: a quantity with its unit, or one of the test's answers."""
    if not (entered or "").strip():
        raise DomainError(f"Enter the result of {criterion.name}.")
    if isinstance(criterion, QualitativeCriterion):
        return None, _read_answer(criterion, entered)
    if isinstance(criterion, DoseCriterion):
        return _read_dose(entered), None
    return _read_measured(criterion, entered), None


# ---- checks --------------------------------------------------------------------------------

def _criterion(lot: Lot, test_key: str) -> Criterion:
    spec = lot_spec(lot)
    try:
        criterion = spec.criterion(test_key)
    except KeyError:
        raise DomainError(f"The specification of lot {lot.lot_number} ({spec.id} version {spec.version}) "
                          f"has no test {test_key!r}.") from None
    if is_computed(criterion):
        raise DomainError(f"{criterion.name} is calculated ({criterion.method}): it takes no entered result.")
    return criterion


def _check_sample(lot: Lot, criterion: Criterion, dose: DoseUnit | None) -> None:
    if is_lot_test(criterion):
        if dose is not None:
            raise DomainError(f"{criterion.name} is tested once for the lot, on the {criterion.sample}: "
                              "enter it without a dose unit.")
    elif dose is None:
        raise DomainError(f"{criterion.name} is tested on the {criterion.sample} of each dose unit: "
                          "choose the dose unit.")
    elif dose.lot_id != lot.id:
        raise DomainError(f"Dose unit {dose.division_code} belongs to another lot, not to lot {lot.lot_number}.")


def results_of_test(lot: Lot, dose: DoseUnit | None, test_key: str) -> list[QcResult]:
    """Return every result of one test on one sample (a dose unit, or the lot's), oldest first."""
    query = select(QcResult).where(QcResult.lot_id == lot.id, QcResult.test_key == test_key,
                                   QcResult.dose_unit_id == dose.id if dose else QcResult.dose_unit_id.is_(None))
    return list(db.session.scalars(query.order_by(QcResult.tested_at, QcResult.id)))


def _check_kind(lot: Lot, dose: DoseUnit | None, criterion: Criterion, kind: QcKind,
                retest_of: QcResult | None, comment: str) -> None:
    """An original comes first and alone; a retest or recalculation names an earlier result and says why."""
    earlier = results_of_test(lot, dose, criterion.key)
    if kind == QcKind.ORIGINAL:
        if retest_of is not None:
            raise DomainError("An original result repeats no other: record it as a retest or a recalculation.")
        if earlier:
            raise OutOfSequence(f"{criterion.name} of {where(dose)} already has a result: record a retest or a "
                                "recalculation of it, with the reason; the original result stays as it is.")
        return
    name = kind.title.lower()
    if retest_of is None:
        raise DomainError(f"A {name} names the result it repeats: choose the earlier result of {criterion.name}.")
    if retest_of.id not in {result.id for result in earlier}:
        raise DomainError(f"A {name} repeats a result of the same test on the same sample: choose a result "
                          f"of {criterion.name} of {where(dose)} of lot {lot.lot_number}.")
    require_reason(db.session, comment, f"the {name}",
                   refusal=f"Say why the {name} was done: the reason is kept with both results.")


def _sample_origin(lot: Lot, criterion: Criterion, dose: DoseUnit | None) -> tuple[str, datetime]:
    """Return what the sample comes from and since when it exists (dose preparation or harvest)."""
    if dose is not None:
        return f"the dose preparation of unit {dose.division_code}", dose.step.performed_at
    harvest = next((step for step in lot_steps(lot) if step.kind == StepKind.HARVEST), None)
    if harvest is None:
        raise OutOfSequence(f"The harvest of lot {lot.lot_number} is not recorded: there is no "
                            f"{criterion.sample} to test yet.")
    return "the harvest", harvest.performed_at


def _check_time(lot: Lot, criterion: Criterion, dose: DoseUnit | None, tested_at: datetime,
                retest_of: QcResult | None) -> None:
    when = clock.format_local(tested_at)
    if tested_at > clock.now() + FUTURE_TOLERANCE:
        raise DomainError(f"The time of the test ({when}) is in the future.")
    origin, since = _sample_origin(lot, criterion, dose)
    if tested_at < since:
        raise OutOfSequence(f"The time of the test ({when}) is before {origin} ({clock.format_local(since)}).")
    if retest_of is not None and tested_at < retest_of.tested_at:
        raise OutOfSequence(f"The time of the test ({when}) is before that of the result it repeats "
                            f"({clock.format_local(retest_of.tested_at)}).")


# ---- operations ----------------------------------------------------------------------------

def record_result(lot: Lot, dose: DoseUnit | None, test_key: str, entered: str, tested_at: datetime, user,
                  password: str, username: str, *, kind: QcKind = QcKind.ORIGINAL,
                  retest_of: QcResult | None = None, comment: str = "") -> QcResult:
    """Record one QC result signed as performed and judge it at once; an OOS result opens an investigation."""
    lock(lot)  # a result and a release of the same lot never cross: the later one sees the other
    if not may_enter(user):
        raise NotPermitted("Only technicians and QA record QC results.")
    if is_cancelled(lot):  # on hold, testing goes on: the investigation needs the results
        raise OutOfSequence(f"Lot {lot.lot_number} is cancelled: no QC result is recorded for it.")
    criterion = _criterion(lot, test_key)
    _check_sample(lot, criterion, dose)
    tested_at = clock.as_utc(tested_at)
    _check_kind(lot, dose, criterion, kind, retest_of, comment)
    _check_time(lot, criterion, dose, tested_at, retest_of)
    quantity, text = read_entry(criterion, entered)
    comment = (comment or "").strip()
    if retest_of is not None:
        set_reason(db.session, f"{kind.title} of QC result #{retest_of.id}: {comment}")
    result = QcResult(
        lot=lot, dose_unit_id=dose.id if dose else None, test_key=criterion.key, sample=criterion.sample,
        quantity=quantity, text=text, entered=entered.strip(), tested_at=tested_at, recorded_at=clock.now(),
        recorded_by_id=user.id, kind=kind, retest_of_id=retest_of.id if retest_of else None,
        comment=comment or None, status=QcStatus.RECORDED)
    db.session.add(result)
    sign(result, Meaning.PERFORMED, user, password, username=username)
    evaluation = evaluate_result(result)
    if evaluation.outcome == Outcome.FAIL:
        _investigate(result, criterion, evaluation, user)
    return result


def _investigate(result: QcResult, criterion: Criterion, evaluation: Evaluation, user) -> Deviation:
    """Open the OOS investigation of a failing result, and alert on every released dose it concerns."""
    alerts = announce_failure(result, evaluation)
    dose = db.session.get(DoseUnit, result.dose_unit_id) if result.dose_unit_id else None
    description = (f"{evaluation.reason}. {result.kind.title} result \"{result.entered}\" on the {result.sample} "
                   f"of {where(dose)}, tested {clock.format_local(result.tested_at)}.")
    action = "OOS investigation opened automatically when the result was entered; the result stays flagged."
    if alerts:
        units = ", ".join(sorted(db.session.get(DoseUnit, alert.dose_unit_id).division_code for alert in alerts))
        action += f" Post-release alert raised for dose unit(s) {units}: the treating physician must be informed."
    deviation = open_deviation(result.lot, user, DeviationClass.MAJOR, f"OOS: {criterion.name}", description, action,
                               qc_result_id=result.id)
    record_event(db.session, "qc_result.out_of_specification", "qc_result", result.id,
                 {"deviation": {"new": deviation.number}, "reason": {"new": evaluation.reason}},
                 scope=f"lot:{result.lot_id}")
    db.session.flush()
    return deviation


def performed_signature(result: QcResult) -> Signature | None:
    return next((s for s in signatures_of(result) if s.meaning == Meaning.PERFORMED), None)


def _performed_intact(result: QcResult, signatures: list[tuple[Signature, bool]] | None) -> bool:
    """Whether the recorder's signature still covers the result; `signatures` as the QC sheet read them, if it did."""
    if signatures is not None:
        return next((intact for s, intact in signatures if s.meaning == Meaning.PERFORMED), False)
    signature = performed_signature(result)
    return signature is not None and is_intact(signature, result)


def verify_refusal(result: QcResult, user, signatures: list[tuple[Signature, bool]] | None = None
                   ) -> DomainError | None:
    """Say why this user cannot verify the result now, or None: a second person, the record intact."""
    if not may_enter(user):
        return NotPermitted("Only technicians and QA verify QC results.")
    if (problem := QC_RESULT.refusal(result, "verified")):
        return OutOfSequence(problem)
    if result.recorded_by_id == user.id:
        return NotPermitted("You recorded this result: a second person must verify it.")
    if not _performed_intact(result, signatures):
        return OutOfSequence("The signature of the person who recorded this result is broken: it cannot be "
                             "verified; record a recalculation or a retest instead.")
    return None


def can_verify(result: QcResult, user, signatures: list[tuple[Signature, bool]] | None = None) -> bool:
    """The verifier is a technician or QA who did not record the result."""
    return verify_refusal(result, user, signatures) is None


def verify_result(result: QcResult, user, password: str, username: str) -> None:
    """Verify a QC result as the second person (never the one who recorded it), signed as verified."""
    lock(result)
    if (refusal := verify_refusal(result, user)):
        raise refusal
    sign(result, Meaning.VERIFIED, user, password, username=username)
    QC_RESULT.move(result, "verified")
    result.verified_by_id, result.verified_at = user.id, clock.now()


def investigation_of(result: QcResult) -> Deviation | None:
    """Return the OOS investigation opened for a result, if it failed."""
    return db.session.scalar(select(Deviation).where(Deviation.qc_result_id == result.id).limit(1))


# ---- the QC sheet of a lot -----------------------------------------------------------------

COLOURS = {Outcome.PASS: "green", Outcome.ALERT: "amber", Outcome.FAIL: "red", Outcome.PENDING: "grey"}


@dataclass(frozen=True)
class ResultView:
    """One result with its own verdict, its signatures and the OOS investigation it opened."""

    result: QcResult
    dose: DoseUnit | None
    evaluation: Evaluation
    signatures: list[tuple[Signature, bool]]
    investigation: Deviation | None

    @property
    def colour(self) -> str:
        return COLOURS[self.evaluation.outcome]

    @property
    def out_of_specification(self) -> bool:
        return self.evaluation.outcome == Outcome.FAIL


@dataclass(frozen=True)
class SheetLine:
    """One test on one sample: every result, oldest first, and the verdict on the latest."""

    criterion: Criterion
    results: list[ResultView]
    evaluation: Evaluation

    @property
    def latest(self) -> ResultView | None:
        return self.results[-1] if self.results else None

    @property
    def computed(self) -> bool:
        return is_computed(self.criterion)

    @property
    def earlier(self) -> list[ResultView]:
        return self.results[:-1]

    @property
    def colour(self) -> str:
        return COLOURS[self.evaluation.outcome]

    @property
    def out_of_specification(self) -> list[ResultView]:
        """Every result of the line that failed: OOS stays flagged after a passing retest."""
        return [view for view in self.results if view.out_of_specification]


@dataclass(frozen=True)
class DoseSheet:
    """The tests of one dose unit, by sample, and the lot-wide tests as they count for it."""

    dose: DoseUnit
    samples: dict[str, list[SheetLine]]
    lot_wide: list[SheetLine]


@dataclass(frozen=True)
class QcSheet:
    """The QC page of a lot: the sampling plan of its pinned spec and every result, judged."""

    lot: Lot
    spec: ProductSpec
    lot_wide: dict[str, list[SheetLine]]
    doses: list[DoseSheet]
    results: list[ResultView]

    @property
    def plan(self) -> dict[str, tuple[Criterion, ...]]:
        return self.spec.sampling_plan()

    @property
    def awaiting(self) -> list[ResultView]:
        return [view for view in self.results if view.result.status == QcStatus.RECORDED]


def qc_sheet(lot: Lot) -> QcSheet:
    """Assemble the QC page of a lot: lot-wide samples, then one table per dose unit."""
    spec = lot_spec(lot)
    doses = {dose.id: dose for dose in db.session.scalars(
        select(DoseUnit).where(DoseUnit.lot_id == lot.id).order_by(DoseUnit.division_code)
        .options(joinedload(DoseUnit.weight_record)))}
    investigations = {deviation.qc_result_id: deviation for deviation in db.session.scalars(
        select(Deviation).where(Deviation.lot_id == lot.id, Deviation.qc_result_id.is_not(None)))}
    results = results_of_lot(lot.id)
    book = SignatureBook(results)
    views = {result.id: ResultView(result, doses.get(result.dose_unit_id), evaluate_result(result, spec),
                                   [(s, book.is_intact(s, result)) for s in book.signatures(result)],
                                   investigations.get(result.id))
             for result in results}
    lot_wide = {sample: [_lot_line(criterion, views) for criterion in tests]
                for sample, tests in spec.sampling_plan().items() if is_lot_test(tests[0])}
    return QcSheet(lot, spec, lot_wide, [_dose_sheet(dose, spec, views, results) for dose in doses.values()],
                   list(views.values()))


def _lot_line(criterion: Criterion, views: dict[int, ResultView]) -> SheetLine:
    results = [view for view in views.values() if view.dose is None and view.result.test_key == criterion.key]
    return SheetLine(criterion, results, results[-1].evaluation if results else evaluate(criterion, None))


def _dose_sheet(dose: DoseUnit, spec: ProductSpec, views: dict[int, ResultView],
                results: list[QcResult]) -> DoseSheet:
    lines = {check.criterion.key: SheetLine(check.criterion, [views[r.id] for r in check.results], check.evaluation)
             for check in release_lines(dose, spec, results)}
    samples = {sample: [lines[criterion.key] for criterion in tests]
               for sample, tests in spec.sampling_plan().items() if not is_lot_test(tests[0])}
    return DoseSheet(dose, samples, [lines[c.key] for c in spec.release if is_lot_test(c)])
