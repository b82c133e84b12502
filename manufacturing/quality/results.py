"""A dose unit's QC results against the lot's pinned specification: the latest result of each test.

Results of tests on a lot-wide sample (the harvest supernatant) count for every dose unit of the lot.
"""

from dataclasses import dataclass, field

import pint
from sqlalchemy import or_, select

from manufacturing.extensions import db
from manufacturing.processing.checks import lot_spec, lot_study
from manufacturing.processing.models import DoseUnit
from manufacturing.quality.models import QcResult
from manufacturing.specifications.loader import (
    Cd3PerKgCriterion,
    Criterion,
    DoseContext,
    EndotoxinCriterion,
    Evaluation,
    Outcome,
    ProductSpec,
    evaluate,
    evaluate_release,
)
from manufacturing.units import format_quantity, same_dimension

LOT_SAMPLES = frozenset({"harvest supernatant"})


def is_lot_test(criterion: Criterion) -> bool:
    """A test on a lot-wide sample, done once for all dose units of the lot."""
    return criterion.sample in LOT_SAMPLES


def is_computed(criterion: Criterion) -> bool:
    """A criterion calculated from other results, with no result of its own."""
    return isinstance(criterion, Cd3PerKgCriterion)


def result_value(result: QcResult | None):
    if result is None:
        return None
    return result.quantity if result.quantity is not None else result.text


def dose_context(dose: DoseUnit, spec: ProductSpec | None = None) -> DoseContext:
    """The dose-dependent inputs of release; the infusion time and the study's maximum come from the specifications."""
    spec = spec or lot_spec(dose.lot)
    endotoxin = next((c for c in spec.release if isinstance(c, EndotoxinCriterion)), None)
    return DoseContext(target_dose_per_kg=dose.target_dose_per_kg, body_weight=dose.body_weight,
                       infused_volume=dose.final_volume,
                       infusion_time=endotoxin.infusion_time if endotoxin else None,
                       study_maxima=(lot_study(dose.lot).max_dose_per_kg,))


@dataclass
class CheckLine:
    """One release test of a dose: its criterion, every result (original and retests), the verdict."""

    criterion: Criterion
    results: list[QcResult] = field(default_factory=list)
    evaluation: Evaluation | None = None
    history: list[tuple[QcResult, Evaluation]] = field(default_factory=list)

    @property
    def latest(self) -> QcResult | None:
        return self.results[-1] if self.results else None

    @property
    def out_of_specification(self) -> list[QcResult]:
        """Every result that failed, including those a retest followed: OOS stays flagged."""
        return [result for result, verdict in self.history if verdict.outcome == Outcome.FAIL]

    @property
    def printed(self) -> "ResultLine":
        return result_line(self)

    @property
    def written_history(self) -> list[tuple[QcResult, Evaluation, str]]:
        """Every result with its verdict and as judged it is written (the certificate's way)."""
        return [(result, verdict, judged_result(result, verdict)) for result, verdict in self.history]


@dataclass(frozen=True)
class ResultLine:
    """One release test as every document prints it: certificate, batch record and review."""

    test: str
    method: str
    sample: str
    criterion: str
    result: str
    outcome: str


def shown_result(line: CheckLine) -> str:
    """The result of a test as printed: the latest value, or the value calculated from the other results."""
    if is_computed(line.criterion):
        value = line.evaluation.value
        return format_quantity(value, plain=False) if value is not None else "not calculable yet"
    return "pending" if line.latest is None else judged_result(line.latest, line.evaluation)


def judged_result(result: QcResult, evaluation: Evaluation | None) -> str:
    """One result as judged: with the digits its verdict needs, a dose per kg with the count entered beside it."""
    if result.quantity is None:
        return result.text or ""
    shown = evaluation.shown if evaluation is not None else None
    if evaluation is not None and isinstance(evaluation.value, pint.Quantity) and not same_dimension(
            evaluation.value, result.quantity):
        return f"{shown or format_quantity(evaluation.value)} ({format_quantity(result.quantity)})"
    return shown or format_quantity(result.quantity)


def result_line(line: CheckLine) -> ResultLine:
    """Write out one release test of a dose: what it is, its result and its verdict."""
    criterion = line.criterion
    return ResultLine(criterion.name, criterion.method, criterion.sample, criterion.text(), shown_result(line),
                      line.evaluation.outcome.title)


def results_of(dose: DoseUnit) -> list[QcResult]:
    """The dose's own results and its lot's lot-wide results, oldest first."""
    query = select(QcResult).where(QcResult.lot_id == dose.lot_id, or_(
        QcResult.dose_unit_id == dose.id, QcResult.dose_unit_id.is_(None))).order_by(QcResult.tested_at,
                                                                                      QcResult.id)
    return list(db.session.scalars(query))


def results_of_lot(lot_id: int) -> list[QcResult]:
    """Every result of a lot, of all its dose units and lot-wide samples, oldest first, in one query."""
    query = select(QcResult).where(QcResult.lot_id == lot_id).order_by(QcResult.tested_at, QcResult.id)
    return list(db.session.scalars(query))


def counting_for(dose: DoseUnit, results: list[QcResult]) -> list[QcResult]:
    """Of a lot's results, those `results_of` the dose would read: its own and the lot-wide ones."""
    return [result for result in results if result.dose_unit_id in (dose.id, None)]


def evaluate_result(result: QcResult, spec: ProductSpec | None = None) -> Evaluation:
    """Judge one result at once, as it is entered."""
    spec = spec or lot_spec(result.lot)
    criterion = spec.criterion(result.test_key)
    dose = db.session.get(DoseUnit, result.dose_unit_id) if result.dose_unit_id else None
    return evaluate(criterion, result_value(result), dose_context(dose, spec) if dose else None)


def release_lines(dose: DoseUnit, spec: ProductSpec | None = None,
                  results: list[QcResult] | None = None) -> list[CheckLine]:
    """Every release test of the dose in the order of the specification, judged on its latest result.

    `results`, when given, are the lot's results already read (`results_of_lot`), oldest first.
    """
    spec = spec or lot_spec(dose.lot)
    lines = {criterion.key: CheckLine(criterion) for criterion in spec.release}
    context = dose_context(dose, spec)
    for result in results_of(dose) if results is None else counting_for(dose, results):
        line = lines.get(result.test_key)
        if line is not None:
            line.results.append(result)
            line.history.append((result, evaluate(line.criterion, result_value(result), context)))
    latest = {key: result_value(line.latest) for key, line in lines.items() if line.latest is not None}
    for criterion, evaluation in evaluate_release(spec, latest, context):
        lines[criterion.key].evaluation = evaluation
    return list(lines.values())
