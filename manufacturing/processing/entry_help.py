"""What a technician needs beside a step's form: the culture day, the pinned limits, the last values entered.

Read from the same places the record and the checks read them: the lot's pinned specification (checks.lot_spec),
the limit each value is judged against (kinds.limit_source), the culture day as the home page counts it.
"""

from dataclasses import dataclass, field

from manufacturing.core.errors import DomainError
from manufacturing.core.plausible import read_typed
from manufacturing.core.text import text_problem
from manufacturing.lots.models import Lot
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.kinds import definition, limit_source
from manufacturing.processing.models import ProcessStep, StepKind
from manufacturing.processing.operations import lot_steps
from manufacturing.processing.progress import culture_day_today, step_title
from manufacturing.specifications.loader import evaluate_limit
from manufacturing.units import format_quantity

# The step whose values the next one follows on: a count follows the last count, or the seeding.
FOLLOWS = {StepKind.CULTURE_DAY: (StepKind.CULTURE_DAY, StepKind.CULTURE_DAY0),
           StepKind.HARVEST: (StepKind.CULTURE_DAY, StepKind.CULTURE_DAY0)}


@dataclass(frozen=True)
class EntryHelp:
    title: str
    limits: dict[str, str] = field(default_factory=dict)  # field key -> "alert < 80 %, action < 70 %"
    previous: dict[str, str] = field(default_factory=dict)  # field key -> "93.0 % (culture day 10)"

    def hint(self, key: str, unit_hint: str | None) -> str | None:
        """The line under a field: its unit, the limits it is judged against, and its last value."""
        parts = [unit_hint] if unit_hint else []
        if key in self.limits:
            parts.append(f"limits: {self.limits[key]}")
        if key in self.previous:
            parts.append(f"last: {self.previous[key]}")
        return " · ".join(parts) or None


def _previous(kind: StepKind, steps: list[ProcessStep]) -> ProcessStep | None:
    follows = FOLLOWS.get(kind, (kind,))
    return next((step for step in reversed(steps) if step.kind in follows), None)


def entry_help(lot: Lot, kind: StepKind) -> EntryHelp:
    """The help beside the form of the next step of this kind on the lot."""
    step_definition, steps = definition(kind), lot_steps(lot)
    title = kind.title
    if kind == StepKind.CULTURE_DAY and (day := culture_day_today(steps)) is not None:
        title = f"Culture day {day}"
    limits = {limit_source(step_definition.spec_step, limit.key): limit.text()
              for limit in lot_spec(lot).limits(step_definition.spec_step)}
    previous, shown = _previous(kind, steps), {}
    if previous is not None:
        for spec in step_definition.fields:
            value = previous.value(spec.key)
            if value is not None and value.quantity is not None:
                shown[spec.key] = f"{format_quantity(value.quantity)} ({step_title(previous).lower()})"
    return EntryHelp(title, limits, shown)


@dataclass(frozen=True)
class Judged:
    """A value as typed, judged by the rules it will be judged by on saving: a colour and what it means."""

    tone: str  # green, amber, red; "" when there is nothing to judge or it cannot be read yet
    message: str


def judge(lot: Lot, kind: StepKind, key: str, text: str) -> Judged:
    """Read a value being typed into a step's field and judge it against the lot's pinned limit for that field."""
    step_definition = definition(kind)
    spec = next((f for f in step_definition.fields if f.key == key and f.kind == "quantity"), None)
    if spec is None or not text.strip():
        return Judged("", "")
    if problem := text_problem(text):
        return Judged("", f"The value {problem}.")
    limit = next((limit for limit in lot_spec(lot).limits(step_definition.spec_step)
                  if limit_source(step_definition.spec_step, limit.key) == key), None)
    try:
        quantity = read_typed(text, spec.unit, f"{step_definition.spec_step}.{key}", unit_printed=True)
    except DomainError as error:
        return Judged("", error.message)
    if limit is None:
        return Judged("", f"Read: {format_quantity(quantity)}")
    evaluation = evaluate_limit(limit, quantity)
    return Judged(evaluation.outcome.tone, evaluation.reason)
