"""The trial's figures, computed from the records as they stand: enrolment, manufacturing, dose and quality.

Each figure is computed by the rule the rest of the system uses for it: the calculated values of a lot's steps
(`processing.derived`), each unit's release tests judged on their latest result (`quality.results`), the study's
planned infusions and interval (the study specification pinned by each lot).
"""

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import pairwise
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from manufacturing.core import clock
from manufacturing.core.charts import Series, dots_svg, growth_svg
from manufacturing.dispensing.models import Administration, Issue
from manufacturing.lots.models import Lot, LotState
from manufacturing.patients.models import Subject
from manufacturing.processing.derived import derive
from manufacturing.processing.models import DoseUnit, ProcessStep, StepKind
from manufacturing.quality.lot_record import growth_points
from manufacturing.quality.models import Deviation
from manufacturing.quality.results import release_lines, results_of_lot
from manufacturing.release.models import Disposition, DispositionState
from manufacturing.specifications.registry import study_spec
from manufacturing.units import Quantity, parse_quantity

REFERENCE_FILE = "reports/reference.toml"


@dataclass(frozen=True)
class Reference:
    """The handbook's reference values drawn beside each lot's harvest."""

    source: str
    culture_day: int
    fold_mean: float
    fold_sd: float
    viability: Quantity
    nk_purity: Quantity


def reference() -> Reference:
    return _reference(str(Path(current_app.config["SPECS_DIR"]) / REFERENCE_FILE))


@cache
def _reference(path: str) -> Reference:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    return Reference(data["source"], int(data["culture_day"]), float(data["fold_expansion"]["mean"]),
                     float(data["fold_expansion"]["sd"]), parse_quantity(data["harvest"]["viability"], "%"),
                     parse_quantity(data["harvest"]["nk_purity"], "%"))


@dataclass(frozen=True)
class Patient:
    """One patient's progress through the planned infusions."""

    subject_code: str
    enrolled_on: date
    planned: int
    given: int
    given_on: tuple[date, ...]
    intervals: tuple[int, ...]  # days between consecutive infusions
    min_interval: int

    @property
    def completed(self) -> bool:
        return self.given >= self.planned

    @property
    def status(self) -> str:
        return "completed all planned infusions" if self.completed else "in progress"

    @property
    def short_intervals(self) -> tuple[int, ...]:
        """Intervals shorter than the study allows."""
        return tuple(days for days in self.intervals if days < self.min_interval)


@dataclass(frozen=True)
class Enrolment:
    patients: tuple[Patient, ...]

    @property
    def enrolled(self) -> int:
        return len(self.patients)

    @property
    def completed(self) -> int:
        return sum(patient.completed for patient in self.patients)

    @property
    def first_enrolled(self) -> date | None:
        return min((patient.enrolled_on for patient in self.patients), default=None)

    @property
    def last_enrolled(self) -> date | None:
        return max((patient.enrolled_on for patient in self.patients), default=None)

    @property
    def enrolment_days(self) -> int | None:
        """Days from the first enrolment to the last."""
        return (self.last_enrolled - self.first_enrolled).days if self.patients else None


@dataclass(frozen=True)
class LotFigures:
    """One lot: where it stands, and its harvest against the reference."""

    lot_number: str
    subject_code: str
    state: LotState
    outcome: str  # released, rejected, cancelled, in progress
    reason: str
    fold_expansion: Quantity | None = None
    population_doublings: Quantity | None = None
    viability: Quantity | None = None
    nk_purity: Quantity | None = None
    harvest_day: int | None = None
    growth: tuple[tuple[int, float], ...] = ()  # (culture day, viable NK cells), as the lot page draws them


@dataclass(frozen=True)
class DoseFigures:
    """A unit issued: the dose delivered against its target."""

    lot_number: str
    division_code: str
    infusion: int
    target: Quantity
    delivered: Quantity
    deviation: Quantity
    administered: bool


@dataclass
class TestFigures:
    """One release test across every dose unit: how many pass, fail (OOS) or wait."""

    name: str
    outcomes: Counter = field(default_factory=Counter)
    out_of_specification: int = 0


def enrolment(session: Session) -> Enrolment:
    spec = study_spec()
    given: dict[int, list[date]] = {}
    query = (select(Lot.subject_id, Administration.started_at).join(DoseUnit, DoseUnit.lot_id == Lot.id)
             .join(Administration, Administration.dose_unit_id == DoseUnit.id).order_by(Administration.started_at))
    for subject_id, started_at in session.execute(query):
        given.setdefault(subject_id, []).append(clock.to_local(started_at).date())
    patients = []
    for subject in session.scalars(select(Subject).order_by(Subject.created_at, Subject.id)):
        days = tuple(given.get(subject.id, ()))
        intervals = tuple((later - earlier).days for earlier, later in pairwise(days))
        patients.append(Patient(subject.subject_code, clock.to_local(subject.created_at).date(), spec.max_infusions,
                                len(days), days, intervals, int(spec.min_interval.m_as("day"))))
    return Enrolment(tuple(patients))


def _outcome(lot: Lot, decisions: list[Disposition]) -> tuple[str, str]:
    standing = [item for item in decisions if item.state == DispositionState.STANDING]
    if lot.state == LotState.CANCELLED:
        return "cancelled", lot.cancel_reason or ""
    if any(item.is_release for item in standing):
        return "released", ""
    if standing:  # every standing decision of the lot rejects its unit
        return "rejected", "; ".join(item.justification or "" for item in standing)
    return "in progress", lot.hold_reason or ""


def manufacturing(session: Session) -> list[LotFigures]:
    """Every lot, oldest first, with its outcome and its harvest's figures."""
    steps: dict[int, list[ProcessStep]] = {}
    for step in session.scalars(select(ProcessStep).options(selectinload(ProcessStep.values))
                                .order_by(ProcessStep.performed_at, ProcessStep.id)):
        steps.setdefault(step.lot_id, []).append(step)
    decisions: dict[int, list[Disposition]] = {}
    for lot_id, item in session.execute(select(DoseUnit.lot_id, Disposition).join(
            Disposition, Disposition.dose_unit_id == DoseUnit.id)):
        decisions.setdefault(lot_id, []).append(item)
    lots = []
    for lot in session.scalars(select(Lot).options(selectinload(Lot.subject)).order_by(Lot.opened_at, Lot.id)):
        outcome, reason = _outcome(lot, decisions.get(lot.id, []))
        of_lot = steps.get(lot.id, [])
        lots.append(LotFigures(lot.lot_number, lot.subject.subject_code, lot.state, outcome, reason,
                               growth=tuple(growth_points(of_lot, derive(of_lot))), **_harvest(of_lot)))
    return lots


def _harvest(steps: list[ProcessStep]) -> dict:
    harvest = next((step for step in reversed(steps) if step.kind == StepKind.HARVEST), None)
    if harvest is None:
        return {}
    derived = derive(steps)[harvest.id].values
    value = {entry.key: entry.quantity for entry in harvest.values}
    day0 = next((step for step in steps if step.kind == StepKind.CULTURE_DAY0), None)
    return {"fold_expansion": derived.get("cumulative_fold"), "population_doublings": derived.get(
        "population_doublings"), "viability": value.get("viability"), "nk_purity": value.get("nk_fraction"),
        "harvest_day": (clock.to_local(harvest.performed_at).date() - clock.to_local(day0.performed_at).date()).days
        if day0 else None}


def doses(session: Session) -> list[DoseFigures]:
    """Every unit issued, in the order issued: the dose per kg at issue against the unit's target."""
    administered = set(session.scalars(select(Administration.dose_unit_id)))
    query = (select(Issue, DoseUnit, Lot.lot_number).join(DoseUnit, Issue.dose_unit_id == DoseUnit.id)
             .join(Lot, DoseUnit.lot_id == Lot.id).order_by(Issue.issued_at, Issue.id))
    return [DoseFigures(number, dose.division_code, dose.infusion_number, dose.target_dose_per_kg,
                        issue.dose_per_kg, issue.dose_deviation, dose.id in administered)
            for issue, dose, number in session.execute(query)]


def quality(session: Session) -> tuple[list[TestFigures], Counter]:
    """Each release test's verdicts over every dose unit, and the deviations by class and step."""
    tests: dict[str, TestFigures] = {}
    for lot in session.scalars(select(Lot).order_by(Lot.id)):
        units = session.scalars(select(DoseUnit).where(DoseUnit.lot_id == lot.id).order_by(DoseUnit.id)).all()
        results = results_of_lot(lot.id) if units else []
        for dose in units:
            for line in release_lines(dose, results=results):
                figures = tests.setdefault(line.criterion.key, TestFigures(line.criterion.name))
                figures.outcomes[line.evaluation.outcome.value if line.evaluation else "pending"] += 1
                figures.out_of_specification += len(line.out_of_specification)
    steps = dict(session.execute(select(ProcessStep.id, ProcessStep.kind)).all())
    deviations = Counter((item.classification.title, steps[item.step_id].title if item.step_id else "QC or other")
                         for item in session.scalars(select(Deviation)))
    return list(tests.values()), deviations


def charts(lots: list[LotFigures], reference: Reference) -> dict[str, bytes | None]:
    """The report's charts: every lot's growth curve on one chart, and each harvest figure beside its reference."""
    harvested = [lot for lot in lots if lot.fold_expansion is not None]
    names = [lot.lot_number for lot in harvested]

    def of(attribute: str, unit: str) -> list[float | None]:
        return [None if getattr(lot, attribute) is None else getattr(lot, attribute).m_as(unit) for lot in harvested]

    return {
        "growth": growth_svg([Series(lot.lot_number, lot.growth) for lot in lots],
                             (reference.culture_day, reference.fold_mean, reference.fold_sd)),
        "fold": dots_svg(names, of("fold_expansion", ""), "fold", (reference.fold_mean, reference.fold_sd),
                         "Fold expansion at harvest"),
        "viability": dots_svg(names, of("viability", "percent"), "%", (reference.viability.m_as("percent"), None),
                              "Viability at harvest"),
        "nk_purity": dots_svg(names, of("nk_purity", "percent"), "%", (reference.nk_purity.m_as("percent"), None),
                              "NK purity at harvest"),
    }
