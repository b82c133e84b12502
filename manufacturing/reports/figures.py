"""The trial's figures, computed from the records as they stand: enrolment, manufacturing, dose and quality.

Each figure is computed by the rule the rest of the system uses for it: the calculated values of a lot's steps
(`processing.derived`), each unit's release tests judged on their latest result (`quality.results`), the study's
planned infusions and interval (the study specification pinned by each lot).
"""

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from itertools import pairwise
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from manufacturing.calculations import CalculationError, cd3_cells_per_kg
from manufacturing.core import clock
from manufacturing.core.charts import Series, dots_svg, growth_svg
from manufacturing.dispensing.models import Administration, Issue
from manufacturing.lots.models import Lot, LotState
from manufacturing.patients.models import Subject
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.derived import derive
from manufacturing.processing.models import DoseUnit, ProcessStep, StepKind
from manufacturing.quality.lot_record import growth_points
from manufacturing.quality.models import Deviation
from manufacturing.quality.results import release_lines, result_value, results_of_lot
from manufacturing.release.models import Disposition, DispositionState, ReleaseAlert
from manufacturing.specifications.model import Cd3PerKgCriterion
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
    depletion_source: str
    log_depletion: tuple[float, float]  # mean, SD (log)
    depletion_recovery: tuple[float, float]  # mean, SD (%)


def reference() -> Reference:
    return _reference(str(Path(current_app.config["SPECS_DIR"]) / REFERENCE_FILE))


@cache
def _reference(path: str) -> Reference:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    depletion = data["cd3_depletion"]

    def spread(item: dict) -> tuple[float, float]:
        return float(item["mean"]), float(item["sd"])

    return Reference(data["source"], int(data["culture_day"]), float(data["fold_expansion"]["mean"]),
                     float(data["fold_expansion"]["sd"]), parse_quantity(data["harvest"]["viability"], "%"),
                     parse_quantity(data["harvest"]["nk_purity"], "%"), depletion["source"],
                     spread(depletion["log_depletion"]), spread(depletion["nk_recovery"]))


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
    stopped: str = ""  # why the subject went off study, if they did
    stopped_on: date | None = None

    @property
    def completed(self) -> bool:
        return self.given >= self.planned

    @property
    def status(self) -> str:
        if self.completed:
            return "completed all planned infusions"
        return f"off study: {self.stopped}" if self.stopped else "in progress"

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

    def stopped(self, reason: str = "") -> int:
        """Patients off study before completing (for one reason, when given)."""
        return sum(bool(p.stopped) and not p.completed and (not reason or p.stopped == reason)
                   for p in self.patients)

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
    log_depletion: Quantity | None = None  # T cells, at the CD3 depletion
    depletion_recovery: Quantity | None = None  # NK cells through the CD3 depletion
    selection_recovery: Quantity | None = None  # NK cells through the CD56 selection
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
    cd3_per_kg: Quantity | None = None  # CD3+ cells per kg in the dose given
    state: str = ""  # where the unit stands: administered, issued, returned, discarded

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
    for subject in session.scalars(select(Subject).options(selectinload(Subject.stop))
                                   .order_by(Subject.created_at, Subject.id)):
        days = tuple(given.get(subject.id, ()))
        intervals = tuple((later - earlier).days for earlier, later in pairwise(days))
        stop = subject.stop
        patients.append(Patient(subject.subject_code, clock.to_local(subject.created_at).date(), spec.max_infusions,
                                len(days), days, intervals, int(spec.min_interval.m_as("day")),
                                stop.reason.title.lower() if stop else "", stop.stopped_on if stop else None))
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


def steps_by_lot(session: Session) -> dict[int, list[ProcessStep]]:
    """Every lot's steps in the order performed, with their values, by lot id."""
    steps: dict[int, list[ProcessStep]] = {}
    for step in session.scalars(select(ProcessStep).options(selectinload(ProcessStep.values))
                                .order_by(ProcessStep.performed_at, ProcessStep.id)):
        steps.setdefault(step.lot_id, []).append(step)
    return steps


def manufacturing(session: Session, steps: dict[int, list[ProcessStep]]) -> list[LotFigures]:
    """Every lot, oldest first, with its outcome, its separations' and its harvest's figures."""
    decisions: dict[int, list[Disposition]] = {}
    for lot_id, item in session.execute(select(DoseUnit.lot_id, Disposition).join(
            Disposition, Disposition.dose_unit_id == DoseUnit.id)):
        decisions.setdefault(lot_id, []).append(item)
    lots = []
    for lot in session.scalars(select(Lot).options(selectinload(Lot.subject)).order_by(Lot.opened_at, Lot.id)):
        outcome, reason = _outcome(lot, decisions.get(lot.id, []))
        of_lot = steps.get(lot.id, [])
        derived = derive(of_lot)
        lots.append(LotFigures(lot.lot_number, lot.subject.subject_code, lot.state, outcome, reason,
                               growth=tuple(growth_points(of_lot, derived)), **_harvest(of_lot, derived),
                               **_separations(of_lot, derived)))
    return lots


def _separations(steps: list[ProcessStep], derived: dict) -> dict:
    """The T-cell log depletion and the NK recovery of the lot's last CD3 depletion and CD56 selection."""
    figures = {}
    for kind, names in ((StepKind.CD3_DEPLETION, {"log_depletion": "log_depletion",
                                                  "depletion_recovery": "nk_recovery"}),
                        (StepKind.CD56_SELECTION, {"selection_recovery": "nk_recovery"})):
        step = next((step for step in reversed(steps) if step.kind == kind), None)
        if step is not None:
            values = derived[step.id].values
            figures |= {name: values.get(key) for name, key in names.items()}
    return figures


def _harvest(steps: list[ProcessStep], derived: dict) -> dict:
    harvest = next((step for step in reversed(steps) if step.kind == StepKind.HARVEST), None)
    if harvest is None:
        return {}
    derived = derived[harvest.id].values
    value = {entry.key: entry.quantity for entry in harvest.values}
    day0 = next((step for step in steps if step.kind == StepKind.CULTURE_DAY0), None)
    return {"fold_expansion": derived.get("cumulative_fold"), "population_doublings": derived.get(
        "population_doublings"), "viability": value.get("viability"), "nk_purity": value.get("nk_fraction"),
        "harvest_day": (clock.to_local(harvest.performed_at).date() - clock.to_local(day0.performed_at).date()).days
        if day0 else None}


def doses(session: Session) -> list[DoseFigures]:
    """Every unit issued, in the order issued: the dose per kg at issue against the unit's target; the CD3+ cells
    per kg of the units given."""
    administered = set(session.scalars(select(Administration.dose_unit_id)))
    query = (select(Issue, DoseUnit, Lot.lot_number).join(DoseUnit, Issue.dose_unit_id == DoseUnit.id)
             .join(Lot, DoseUnit.lot_id == Lot.id).order_by(Issue.issued_at, Issue.id))
    return [DoseFigures(number, dose.division_code, dose.infusion_number, dose.target_dose_per_kg,
                        issue.dose_per_kg, issue.dose_deviation, dose.id in administered,
                        _cd3_given(dose, issue.dose_per_kg) if dose.id in administered else None,
                        dose.state.title.lower())
            for issue, dose, number in session.execute(query)]


def _cd3_given(dose: DoseUnit, delivered: Quantity) -> Quantity | None:
    """CD3+ cells per kg delivered: the release test's formula on the dose per kg at issue."""
    criterion = next((c for c in lot_spec(dose.lot).release if isinstance(c, Cd3PerKgCriterion)), None)
    if criterion is None:
        return None
    lines = {line.criterion.key: line for line in release_lines(dose)}
    cd3, nk = (result_value(lines[key].latest) if key in lines else None
               for key in (criterion.cd3_test, criterion.nk_test))
    if not isinstance(cd3, Quantity) or not isinstance(nk, Quantity):
        return None
    try:
        return cd3_cells_per_kg(delivered, cd3, nk)
    except CalculationError:
        return None


@dataclass(frozen=True)
class ExceptionalRelease:
    """A unit released although a test failed, on QA's justification and the physician's acknowledgement."""

    lot_number: str
    division_code: str
    decided_at: datetime
    justification: str
    physician: str
    acknowledged_on: date | None
    standing: bool


def exceptional_releases(session: Session) -> list[ExceptionalRelease]:
    query = (select(Disposition, DoseUnit.division_code, Lot.lot_number)
             .join(DoseUnit, Disposition.dose_unit_id == DoseUnit.id).join(Lot, DoseUnit.lot_id == Lot.id)
             .where(Disposition.exceptional.is_(True)).order_by(Disposition.decided_at, Disposition.id))
    return [ExceptionalRelease(number, division, item.decided_at, item.justification or "",
                               item.physician_name or "", item.physician_acknowledged_on,
                               item.state == DispositionState.STANDING)
            for item, division, number in session.execute(query)]


@dataclass(frozen=True)
class AlertFigures:
    """A post-release alert: what stopped the unit, and how long until the physician was informed."""

    lot_number: str
    division_code: str
    message: str
    raised_at: datetime
    informed_at: datetime | None

    @property
    def hours_to_close(self) -> float | None:
        return None if self.informed_at is None else (self.informed_at - self.raised_at).total_seconds() / 3600


def alerts(session: Session) -> list[AlertFigures]:
    query = (select(ReleaseAlert, DoseUnit.division_code, Lot.lot_number)
             .join(DoseUnit, ReleaseAlert.dose_unit_id == DoseUnit.id).join(Lot, DoseUnit.lot_id == Lot.id)
             .order_by(ReleaseAlert.raised_at, ReleaseAlert.id))
    return [AlertFigures(number, division, alert.message, alert.raised_at,
                         alert.informed_at if not alert.is_open else None)
            for alert, division, number in session.execute(query)]


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
        "log_depletion": _depletion_chart(lots, reference),
    }


def _depletion_chart(lots: list[LotFigures], reference: Reference) -> bytes | None:
    depleted = [lot for lot in lots if lot.log_depletion is not None]
    return dots_svg([lot.lot_number for lot in depleted], [lot.log_depletion.m_as("") for lot in depleted], "log",
                    reference.log_depletion, "T-cell depletion")
