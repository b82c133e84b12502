"""QA's review by exception: only what needs QA's eyes before a dose unit is released."""

from dataclasses import dataclass, field

from sqlalchemy import or_, select

from manufacturing.core.audit import AuditEvent
from manufacturing.core.signatures import Signature, SignatureBook
from manufacturing.extensions import db
from manufacturing.lots.guards import awaits_release
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseUnit, ProcessStep, StepEquipment, StepMaterial, StepValue
from manufacturing.quality.lot_record import LotRecord, build
from manufacturing.quality.models import Deviation, QcResult
from manufacturing.quality.results import CheckLine, is_computed, release_lines
from manufacturing.quality.states import is_open, is_verified
from manufacturing.specifications.loader import Outcome

STEP_RECORDS = tuple(model.audit_entity() for model in (ProcessStep, StepValue, StepMaterial, StepEquipment))


@dataclass
class Review:
    """Everything that stands between a dose unit and its release, found in the lot's records."""

    dose: DoseUnit
    record: LotRecord
    lines: list[CheckLine]
    out_of_specification: list[tuple[CheckLine, QcResult]] = field(default_factory=list)
    alerts: list[CheckLine] = field(default_factory=list)
    pending: list[CheckLine] = field(default_factory=list)
    unverified_results: list[QcResult] = field(default_factory=list)
    deviations: list[Deviation] = field(default_factory=list)
    corrections: list[AuditEvent] = field(default_factory=list)
    corrected_steps: list = field(default_factory=list)
    late_steps: list = field(default_factory=list)
    broken_signatures: list[tuple[str, Signature]] = field(default_factory=list)
    process_problems: list[str] = field(default_factory=list)
    involved_user_ids: set[int] = field(default_factory=set)

    @property
    def lot(self) -> Lot:
        return self.record.lot

    @property
    def failing(self) -> list[CheckLine]:
        return [line for line in self.lines if line.evaluation.outcome == Outcome.FAIL]

    @property
    def pending_not_allowed(self) -> list[CheckLine]:
        """Pending tests this kind of unit may not be released without (spec data: fresh units only, say)."""
        return [line for line in self.pending if not line.criterion.may_be_pending(self.dose.kind.name)]

    @property
    def blocking_deviations(self) -> list[Deviation]:
        """Deviations neither closed nor assessed as not affecting the product."""
        return [d for d in self.deviations if is_open(d) and d.affects_product is not False]

    @property
    def affecting_deviations(self) -> list[Deviation]:
        return [d for d in self.deviations if d.affects_product]


def _process_problems(record: LotRecord) -> list[str]:
    problems = []
    if not awaits_release(record.lot):
        problems.append(f"The lot is {record.lot.state.title.lower()}, not with its doses prepared.")
    for view in record.steps:
        if not view.verified:
            problems.append(f"{view.title} is not verified.")
        if view.needs_deviation:
            problems.append(f"{view.title} crossed an action limit without a deviation.")
    return problems


def _corrections(lot: Lot) -> list[AuditEvent]:
    """Changes made with a reason to the lot's records but its steps (holds, reassessments, results).

    Whether a step was corrected is the step's own rule (`is_corrected`); the review lists those steps apart.
    """
    changed = or_(AuditEvent.action.endswith(".updated"), AuditEvent.action.endswith(".deleted"))
    query = select(AuditEvent).where(AuditEvent.scope == f"lot:{lot.id}", AuditEvent.reason.is_not(None), changed,
                                     AuditEvent.entity_type.not_in(STEP_RECORDS))
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def _signed_records(record: LotRecord, results: list[QcResult]) -> list[tuple[str, object]]:
    items = [(view.title, view.step) for view in record.steps]
    items += [(f"QC result {r.test_key}", r) for r in results]
    return items + [(f"Deviation {d.number}", d) for d in record.deviations]


def _signatures(review: Review, results: list[QcResult]) -> None:
    """Only the signatures of each record's current version decide: a corrected step's earlier ones are superseded."""
    books = {"qc_result": SignatureBook(results)}
    for label, signed in _signed_records(review.record, results):
        book = books.get(signed.audit_entity(), review.record.book)
        for signature in book.current(signed):
            if not book.is_intact(signature, signed):
                review.broken_signatures.append((label, signature))


def _results(review: Review) -> list[QcResult]:
    results = []
    for line in review.lines:
        results += line.results
        review.out_of_specification += [(line, result) for result in line.out_of_specification]
        outcome = line.evaluation.outcome
        if outcome == Outcome.ALERT:
            review.alerts.append(line)
        elif outcome == Outcome.PENDING and not is_computed(line.criterion):
            review.pending.append(line)
    review.unverified_results = [r for r in results if not is_verified(r)]
    return results


def review(dose: DoseUnit) -> Review:
    """Gather the exceptions of a dose unit's lot and results."""
    record = build(dose.lot)
    found = Review(dose=dose, record=record, lines=release_lines(dose, record.spec))
    results = _results(found)
    found.deviations = record.deviations
    found.corrections = _corrections(dose.lot)
    found.corrected_steps = [view for view in record.steps if view.corrected]
    found.late_steps = [view for view in record.steps if view.late]
    found.process_problems = _process_problems(record)
    _signatures(found, results)
    found.involved_user_ids = involved_in(record)
    return found


def involved_in(record: LotRecord) -> set[int]:
    """Who performed or verified a step of the lot (its record's step signatures): segregation of duties."""
    return {line.signature.signer_id for view in record.steps for line in view.signatures}
