"""In-process limits of the pinned specification, evaluated on the values of a step."""

from dataclasses import dataclass

from manufacturing.core import clock
from manufacturing.lots.models import Lot
from manufacturing.processing.derived import Derived
from manufacturing.processing.kinds import definition, limit_source
from manufacturing.processing.models import DoseUnit, ProcessStep
from manufacturing.specifications import registry
from manufacturing.specifications.loader import Evaluation, InProcessLimit, Outcome, ProductSpec, evaluate_limit
from manufacturing.specifications.model import StudySpec
from manufacturing.units import Q_


@dataclass(frozen=True)
class LimitCheck:
    limit: InProcessLimit
    evaluation: Evaluation
    subject: str = ""  # what was checked when a step checks several things (a dose unit)

    @property
    def colour(self) -> str:
        return self.evaluation.outcome.tone


def lot_spec(lot: Lot) -> ProductSpec:
    """The product specification version the lot pinned when it was opened."""
    return registry.pinned(lot.spec_id, lot.spec_version, lot.spec_hash)


def lot_study(lot: Lot) -> StudySpec:
    """The study specification version the lot pinned when it was opened."""
    return registry.pinned(lot.study_spec_id, lot.study_spec_version, lot.study_spec_hash)


def weight_age_days(unit: DoseUnit, step: ProcessStep):
    prepared_on = clock.local_date(step.performed_at)
    return Q_((prepared_on - unit.weight_record.measured_on).days, "day")


def step_checks(step: ProcessStep, derived: Derived, spec: ProductSpec,
                units: list[DoseUnit] = ()) -> list[LimitCheck]:
    """Evaluate every in-process limit of the step's kind on its values and calculated values."""
    spec_step = definition(step.kind).spec_step
    checks = []
    for limit in spec.limits(spec_step):
        if limit.key == "body_weight_age":
            checks += [LimitCheck(limit, evaluate_limit(limit, weight_age_days(unit, step)),
                                  f"dose unit {unit.division_code}") for unit in units]
            continue
        source = limit_source(spec_step, limit.key)
        value = step.value(source)
        quantity = value.quantity if value is not None else derived.values.get(source)
        checks.append(LimitCheck(limit, evaluate_limit(limit, quantity)))
    return checks


def action_breached(checks: list[LimitCheck]) -> list[LimitCheck]:
    return [check for check in checks if check.evaluation.outcome == Outcome.FAIL]
