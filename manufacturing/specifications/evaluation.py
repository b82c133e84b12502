"""Judge results against specifications: release tests of one dose, in-process alert/action limits.

A result of None means "no result yet": the outcome is PENDING, and the criterion's
`pending_allowed_at_release` tells release whether that pending result blocks it (see `blocking`).
Numbers are compared exactly; the reason shows as many digits as needed to agree with the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum

import pint

from manufacturing.calculations import cd3_cells_per_kg, dose_deviation, dose_per_kg, endotoxin_limit
from manufacturing.core.errors import DomainError
from manufacturing.specifications.compare import HOLDS
from manufacturing.specifications.dose_limits import exceeded_maximum, within_tolerance
from manufacturing.specifications.model import (
    Cd3PerKgCriterion,
    Criterion,
    DoseCriterion,
    EndotoxinCriterion,
    InProcessLimit,
    LimitCriterion,
    ProductSpec,
    QualitativeCriterion,
)
from manufacturing.units import (
    Q_,
    dimension_name,
    format_limit,
    format_quantity,
    lab_unit,
    magnitude_in,
    same_dimension,
    shown_magnitude,
)

_PERCENT, _CELLS = lab_unit("%"), lab_unit("cells")
Result = pint.Quantity | str | None


class Outcome(Enum):
    """The verdict on one result."""

    PASS = "pass"
    FAIL = "fail"
    PENDING = "pending"
    ALERT = "alert"

    @property
    def title(self) -> str:
        """Return the human title."""
        return self.value

    @property
    def tone(self) -> str:
        """Return the colour of the verdict's badge: green, amber, red, or grey while pending."""
        return {"pass": "green", "alert": "amber", "fail": "red"}.get(self.value, "grey")


@dataclass(frozen=True)
class Evaluation:
    """A verdict with its reason; value is the value judged, limit a limit computed for this dose."""

    outcome: Outcome
    reason: str
    value: pint.Quantity | str | None = None
    limit: pint.Quantity | None = None
    shown: str | None = None  # the value written with the digits that give it this verdict, where one was judged


@dataclass(frozen=True, kw_only=True)
class DoseContext:
    """The dose-dependent inputs of release: target dose, body weight, infusion, %NK and %CD3+, study maxima."""

    target_dose_per_kg: pint.Quantity | None = None
    body_weight: pint.Quantity | None = None
    infused_volume: pint.Quantity | None = None
    infusion_time: pint.Quantity | None = None
    nk_fraction: pint.Quantity | None = None
    cd3_fraction: pint.Quantity | None = None
    study_maxima: tuple[pint.Quantity, ...] = ()  # the studies' maximum doses per kg, besides the product's


class EvaluationError(DomainError):
    """A result cannot be judged against its criterion (wrong kind of value, unknown test)."""


def _shown(value: pint.Quantity, judge: Callable[[float], object]) -> str:
    """Show a value with enough digits that the number shown gets the same verdict as the exact one."""
    verdict = judge(float(value.magnitude))
    for digits in (None, 4, 5, 6):
        if judge(shown_magnitude(value, digits)) == verdict:
            return format_quantity(value, digits=digits)
    return format_quantity(value, digits=8)


def _measured(name: str, unit: pint.Unit, result: object) -> pint.Quantity:
    """Return a measured result in the criterion's unit, refusing text or a value of another kind."""
    if not isinstance(result, pint.Quantity):
        raise EvaluationError(f"{name}: a measured value with its unit is needed, not {result!r}")
    if result.units == unit:
        return result
    if not same_dimension(result, unit):
        shown, kind = format_quantity(result), dimension_name(result)
        raise EvaluationError(f"{name}: {shown} is {kind}, but {dimension_name(unit)} is expected")
    return result.to(unit)


def _pending(criterion: Criterion, waiting_for: str = "") -> Evaluation:
    rule = "allowed pending at release" if criterion.pending_allowed_at_release else "needed before release"
    detail = f"waiting for {waiting_for}; " if waiting_for else ""
    return Evaluation(Outcome.PENDING, f"{criterion.name} pending ({detail}{rule})")


def _qualitative(criterion: QualitativeCriterion, result: Result, context: DoseContext | None) -> Evaluation:
    if not isinstance(result, str):
        raise EvaluationError(f"{criterion.name}: a written result is needed (e.g. {criterion.accept[0]!r})")
    answer = " ".join(result.split())
    if not answer:
        return _pending(criterion)
    if answer.casefold() in {accepted.casefold() for accepted in criterion.accept}:
        return Evaluation(Outcome.PASS, f'{criterion.name} "{answer}" passes: {criterion.statement}', answer)
    accepted = " or ".join(f'"{a}"' for a in criterion.accept)
    return Evaluation(Outcome.FAIL, f'{criterion.name} "{answer}" fails: {accepted} required', answer)


def _within_bounds(criterion: LimitCriterion | Cd3PerKgCriterion, value: pint.Quantity) -> Evaluation:
    """Judge a value against fixed bounds; the reason quotes the bound it fails."""
    bounds = [(sign, limit) for sign, limit in _bounds(criterion) if limit is not None]

    def judge(magnitude: float) -> int | None:
        for index, (sign, limit) in enumerate(bounds):
            if not HOLDS[sign](magnitude, limit.m_as(value.units)):
                return index
        return None

    failed, shown = judge(float(value.magnitude)), _shown(value, judge)
    if failed is None:
        return Evaluation(Outcome.PASS, f"{criterion.name} {shown} passes {criterion.text()}", value, shown=shown)
    sign, limit = bounds[failed]
    return Evaluation(Outcome.FAIL, f"{criterion.name} {shown} fails {sign} {format_limit(limit)}", value,
                      shown=shown)


def _bounds(criterion: LimitCriterion | Cd3PerKgCriterion) -> list[tuple[str, pint.Quantity | None]]:
    return criterion.bounds() if isinstance(criterion, LimitCriterion) else [("<=", criterion.maximum)]


def _limits(criterion: LimitCriterion, result: Result, context: DoseContext | None) -> Evaluation:
    return _within_bounds(criterion, _measured(criterion.name, criterion.unit, result))


def _dose_per_kg(criterion: DoseCriterion, result: Result, context: DoseContext) -> pint.Quantity | None:
    """Return the delivered dose per kg; a total cell count is divided by the body weight."""
    if isinstance(result, pint.Quantity) and same_dimension(result, _CELLS):
        if context.body_weight is None:
            return None
        return dose_per_kg(result, context.body_weight).to(criterion.unit)
    return _measured(criterion.name, criterion.unit, result)


def _dose(criterion: DoseCriterion, result: Result, context: DoseContext | None) -> Evaluation:
    if context is None or context.target_dose_per_kg is None:
        return _pending(criterion, "the target dose")
    delivered = _dose_per_kg(criterion, result, context)
    if delivered is None:
        return _pending(criterion, "the body weight")
    target = _measured("Target dose", criterion.unit, context.target_dose_per_kg)
    maxima = (criterion.max_per_kg, *context.study_maxima)

    def judge(magnitude: float) -> bool:
        return within_tolerance(Q_(magnitude - 100, _PERCENT), criterion.tolerance)

    def verdict(magnitude: float) -> tuple:
        dose = Q_(magnitude, delivered.units)
        top = exceeded_maximum(dose, maxima)
        return (top, None) if top is not None else (None, judge(100 + dose_deviation(dose, target).m_as(_PERCENT)))

    shown = _shown(delivered, verdict)
    top = exceeded_maximum(delivered, maxima)
    if top is not None:
        return Evaluation(Outcome.FAIL, f"{criterion.name} {shown} is above the maximum {format_limit(top)}",
                          delivered, shown=shown)
    percent = Q_(100 + dose_deviation(delivered, target).m_as(_PERCENT), _PERCENT)
    inside = judge(percent.magnitude)
    reason = (
        f"{criterion.name} {shown} is {_shown(percent, judge)} of target "
        f"{format_quantity(target)}, {'within' if inside else 'outside'} {criterion.tolerance_text()}"
    )
    return Evaluation(Outcome.PASS if inside else Outcome.FAIL, reason, delivered, shown=shown)


def _endotoxin(criterion: EndotoxinCriterion, result: Result, context: DoseContext | None) -> Evaluation:
    inputs = None if context is None else (context.body_weight, context.infused_volume, context.infusion_time)
    if inputs is None or None in inputs:
        return _pending(criterion, "body weight, infused volume and infusion time")
    limit = endotoxin_limit(*inputs, criterion.max_per_kg_per_hour).to(criterion.unit)
    value = _measured(criterion.name, criterion.unit, result)

    def judge(magnitude: float) -> bool:
        return HOLDS["<="](magnitude, limit.magnitude)

    passes, shown = judge(value.magnitude), _shown(value, judge)
    weight, volume, time = (format_quantity(q) for q in inputs)
    verdict = "passes" if passes else "fails"
    reason = (
        f"{criterion.name} {shown} {verdict} <= {format_quantity(limit)} "
        f"({format_limit(criterion.max_per_kg_per_hour)} for {weight}, {volume} over {time})"
    )
    return Evaluation(Outcome.PASS if passes else Outcome.FAIL, reason, value, limit, shown=shown)


def _cd3_per_kg(criterion: Cd3PerKgCriterion, result: Result, context: DoseContext | None) -> Evaluation:
    if result is None:
        context = context or DoseContext()
        inputs = (context.target_dose_per_kg, context.cd3_fraction, context.nk_fraction)
        if None in inputs:
            return _pending(criterion, f"{criterion.cd3_test}, {criterion.nk_test} and the target dose")
        result = cd3_cells_per_kg(*inputs)
    value = _measured(criterion.name, criterion.unit, result)
    if criterion.maximum is None:
        reason = f"{criterion.name} {format_quantity(value)} (reported, no limit)"
        return Evaluation(Outcome.PASS, reason, value)
    return _within_bounds(criterion, value)


_EVALUATORS: dict[type, Callable[..., Evaluation]] = {
    QualitativeCriterion: _qualitative,
    LimitCriterion: _limits,
    DoseCriterion: _dose,
    EndotoxinCriterion: _endotoxin,
}


def evaluate(criterion: Criterion, result: Result, context: DoseContext | None = None) -> Evaluation:
    """Judge one release result (a quantity, a written result, or None for "no result yet")."""
    if isinstance(criterion, Cd3PerKgCriterion):
        return _cd3_per_kg(criterion, result, context)
    if result is None:
        return _pending(criterion)
    return _EVALUATORS[type(criterion)](criterion, result, context)


def evaluate_limit(limit: InProcessLimit, value: pint.Quantity | None) -> Evaluation:
    """Judge an in-process value: PASS (green), ALERT (amber, alert limit crossed) or FAIL (red, action)."""
    if value is None:
        return Evaluation(Outcome.PENDING, f"{limit.name}: no value yet")
    value = _measured(limit.name, limit.unit, value)
    checks = [
        (Outcome.FAIL, "below the action limit", "<", limit.action_below),
        (Outcome.FAIL, "above the action limit", ">", limit.action_above),
        (Outcome.ALERT, "below the alert limit", "<", limit.alert_below),
        (Outcome.ALERT, "above the alert limit", ">", limit.alert_above),
    ]
    checks = [check for check in checks if check[3] is not None]
    bounds = [(HOLDS[sign], magnitude_in(bound, value.units)) for *_, sign, bound in checks]  # once, not per try

    def judge(magnitude: float) -> int | None:
        return next((i for i, (holds, bound) in enumerate(bounds) if holds(magnitude, bound)), None)

    crossed, shown = judge(float(value.magnitude)), _shown(value, judge)
    if crossed is None:
        return Evaluation(Outcome.PASS, f"{limit.name} {shown} is within limits ({limit.text()})", value)
    outcome, words, _, bound = checks[crossed]
    return Evaluation(outcome, f"{limit.name} {shown} is {words} {format_limit(bound)}", value)


def _with_fractions(
    criterion: Cd3PerKgCriterion, results: Mapping[str, Result], context: DoseContext | None
) -> DoseContext:
    """Fill %CD3+ and %NK of the context from the release results the criterion names."""
    context = context or DoseContext()
    cd3, nk = context.cd3_fraction, context.nk_fraction
    return replace(
        context,
        cd3_fraction=results.get(criterion.cd3_test) if cd3 is None else cd3,
        nk_fraction=results.get(criterion.nk_test) if nk is None else nk,
    )


def evaluate_release(
    spec: ProductSpec, results: Mapping[str, Result], context: DoseContext | None = None
) -> list[tuple[Criterion, Evaluation]]:
    """Judge every release test of one dose, in the order of the specification."""
    unknown = set(results) - {criterion.key for criterion in spec.release}
    if unknown:
        tests = ", ".join(sorted(unknown))
        raise EvaluationError(f"results for tests that {spec.id} version {spec.version} lacks: {tests}")
    evaluations = []
    for criterion in spec.release:
        computed = isinstance(criterion, Cd3PerKgCriterion)
        dose = _with_fractions(criterion, results, context) if computed else context
        evaluations.append((criterion, evaluate(criterion, results.get(criterion.key), dose)))
    return evaluations


def blocking(evaluations: Sequence[tuple[Criterion, Evaluation]]) -> list[tuple[Criterion, Evaluation]]:
    """Return the evaluations that block release: failures, and pending results not allowed pending."""
    return [
        (criterion, evaluation) for criterion, evaluation in evaluations
        if evaluation.outcome in (Outcome.FAIL, Outcome.ALERT)
        or (evaluation.outcome is Outcome.PENDING and not criterion.pending_allowed_at_release)
    ]
