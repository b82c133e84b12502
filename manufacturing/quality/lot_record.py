"""The executed record of a lot as plain data: steps with values, calculations, limits, signatures, deviations.

Pages and printed records read this; it is computed from the stored entries every time, in a fixed number of
queries whatever the size of the lot (steps with their entries, deviations, one query per kind of signed record).
"""

from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property

from flask import current_app
from sqlalchemy import select

from manufacturing.core import clock
from manufacturing.core.signatures import Meaning, SignatureBook, SignatureLine
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.checks import LimitCheck, action_breached, lot_spec, step_checks
from manufacturing.processing.derived import LABELS, Derived, derive
from manufacturing.processing.entries import as_datetime
from manufacturing.processing.guards import correction_problem, is_corrected, is_verified
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import DoseUnit, ProcessStep, StepKind
from manufacturing.processing.operations import steps_with_entries
from manufacturing.processing.progress import step_title
from manufacturing.processing.rules import culture_day
from manufacturing.quality.models import Deviation
from manufacturing.quality.states import is_open
from manufacturing.specifications.loader import ProductSpec
from manufacturing.units import format_quantity


@dataclass(frozen=True)
class ValueLine:
    key: str
    label: str
    shown: str
    entered: str


@dataclass
class StepView:
    """A step as pages show it; the lines of values and uses are written when a page first reads them."""

    step: ProcessStep
    title: str
    calculated: Derived
    checks: list[LimitCheck]
    signatures: list[SignatureLine]
    deviations: list[Deviation]
    late: bool
    corrected: bool
    verified: bool
    correctable: bool

    @cached_property
    def values(self) -> list[ValueLine]:
        return [line for f in definition(self.step.kind).fields if (line := _shown(self.step, f.key))]

    @cached_property
    def derived(self) -> list[tuple[str, str]]:
        return [(LABELS.get(key, key), format_quantity(value)) for key, value in self.calculated.values.items()]

    @property
    def problems(self) -> list[str]:
        return self.calculated.problems

    @cached_property
    def materials(self) -> list[tuple[str, str]]:
        return [(use.role, f"{use.material_lot} (exp. {use.material_lot.expiry_date})") for use in self.step.materials]

    @cached_property
    def equipment(self) -> list[tuple[str, str]]:
        return [(use.role, str(use.item)) for use in self.step.equipment]

    @property
    def needs_deviation(self) -> bool:
        return bool(action_breached(self.checks)) and not self.deviations

    @property
    def correction_notes(self) -> list[str]:
        """The reason of each correction, as its performer signed it."""
        return [line.signature.comment for line in self.signatures
                if line.signature.meaning == Meaning.PERFORMED and line.signature.comment]

    @property
    def signatures_intact(self) -> bool:
        return all(line.intact for line in self.signatures if not line.superseded)


@dataclass
class LotRecord:
    lot: Lot
    spec: ProductSpec
    steps: list[StepView]
    doses: list[DoseUnit]
    deviations: list[Deviation]
    growth: list[tuple[int, float]] = field(default_factory=list)
    book: SignatureBook | None = None  # the signatures of the steps and deviations, read at once

    @property
    def open_deviations(self) -> list[Deviation]:
        return [deviation for deviation in self.deviations if is_open(deviation)]


def _shown(step: ProcessStep, key: str) -> ValueLine | None:
    value = step.value(key)
    if value is None:
        return None
    spec = definition(step.kind).field(key)
    label = spec.label
    if spec.kind == "choice":  # the option's words, as the form offered it ("Count only", not "none")
        words = dict(spec.choices).get(value.text or "", value.text or "")
        return ValueLine(key, label, words, words)
    if value.quantity is not None:
        return ValueLine(key, label, format_quantity(value.quantity), value.entered)
    if key == "collected_at":
        return ValueLine(key, label, clock.format_local(as_datetime(value.text)), value.entered)
    return ValueLine(key, label, value.text or "", value.entered)


def _is_late(step: ProcessStep) -> bool:
    return step.recorded_at - step.performed_at > timedelta(minutes=current_app.config["LATE_ENTRY_MINUTES"])


def _step_view(step: ProcessStep, derived: Derived, spec: ProductSpec, deviations: list[Deviation],
               book: SignatureBook) -> StepView:
    return StepView(
        step=step, title=step_title(step), calculated=derived,
        checks=step_checks(step, derived, spec, step.dose_units), signatures=book.lines(step),
        deviations=deviations, late=_is_late(step),
        corrected=is_corrected(step), verified=is_verified(step),
        correctable=correction_problem(step) is None,
    )


def growth_points(steps: list[ProcessStep], derived) -> list[tuple[int, float]]:
    """Viable NK over culture days, scaled back through splits (seeded x cumulative fold)."""
    points, seeded = [], None
    for step in steps:
        values = derived[step.id].values
        if step.kind == StepKind.CULTURE_DAY0 and "viable_nk_seeded" in values:
            seeded = values["viable_nk_seeded"]
            points.append((0, seeded.to("cell").magnitude))
        elif step.kind in (StepKind.CULTURE_DAY, StepKind.HARVEST) and "cumulative_fold" in values and seeded:
            day = step.day_number if step.day_number is not None else _day_of(step, steps)
            points.append((day, (seeded * values["cumulative_fold"]).to("cell").magnitude))
    return points


def _day_of(step: ProcessStep, steps: list[ProcessStep]) -> int:
    day0 = next(s for s in steps if s.kind == StepKind.CULTURE_DAY0)
    return culture_day(day0, step.performed_at)


def deviations_of(lot: Lot) -> list[Deviation]:
    return list(db.session.scalars(select(Deviation).where(Deviation.lot_id == lot.id).order_by(Deviation.id)))


def _by_step(deviations: list[Deviation]) -> dict[int, list[Deviation]]:
    grouped: dict[int, list[Deviation]] = {}
    for deviation in deviations:
        grouped.setdefault(deviation.step_id, []).append(deviation)
    return grouped


def build(lot: Lot) -> LotRecord:
    """Assemble the executed record of a lot."""
    steps, spec, deviations = steps_with_entries(lot), lot_spec(lot), deviations_of(lot)
    derived, book, on_step = derive(steps), SignatureBook([*steps, *deviations]), _by_step(deviations)
    views = [_step_view(step, derived[step.id], spec, on_step.get(step.id, []), book) for step in steps]
    doses = sorted((unit for step in steps for unit in step.dose_units), key=lambda unit: unit.division_code)
    return LotRecord(lot, spec, views, doses, deviations, growth_points(steps, derived), book)


