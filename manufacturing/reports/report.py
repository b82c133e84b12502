"""The trial report: every figure of the reports read once, for the page and the PDF alike."""

from collections import Counter
from dataclasses import asdict, dataclass, field

from sqlalchemy.orm import Session

from manufacturing.records.storage import source_hash
from manufacturing.reports import figures
from manufacturing.reports.timeline import Timeline, timelines
from manufacturing.units import Quantity


@dataclass(frozen=True)
class DoseLevel:
    infusion: int
    target: Quantity
    given: int
    mean_deviation: Quantity
    lowest_deviation: Quantity
    highest_deviation: Quantity


@dataclass
class TrialReport:
    enrolment: figures.Enrolment
    lots: list[figures.LotFigures]
    reference: figures.Reference
    doses: list[figures.DoseFigures]
    tests: list[figures.TestFigures]
    deviations: list[tuple[tuple[str, str], int]]
    exceptional: list[figures.ExceptionalRelease]
    alerts: list[figures.AlertFigures]
    timelines: list[Timeline]
    charts: dict[str, bytes | None] = field(default_factory=dict, repr=False)

    def dose_levels(self) -> list[DoseLevel]:
        """The units given, by dose level (target per kg): how many, and their dose deviations' mean and range."""
        levels: dict = {}
        for dose in self.doses:
            if dose.administered:
                levels.setdefault((dose.infusion, dose.target), []).append(dose.deviation)
        return [DoseLevel(infusion, target, len(deviations), sum(deviations, start=0 * deviations[0]) / len(deviations),
                          min(deviations), max(deviations))
                for (infusion, target), deviations in sorted(levels.items(), key=lambda item: item[0][1])]

    def outcomes(self) -> Counter:
        """Lots by outcome: released, rejected, cancelled, in progress."""
        return Counter(lot.outcome for lot in self.lots)

    def source_hash(self) -> str:
        """The hash of the figures (charts are drawn from them): the same trial data, the same hash."""
        return source_hash(_plain({name: value for name, value in asdict(self).items() if name != "charts"}))


def _plain(value):
    """Figures as JSON can hold them: mappings keyed by text (a deviation's class and step is a pair)."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def build(session: Session, with_charts: bool = True) -> TrialReport:
    steps = figures.steps_by_lot(session)
    tests, deviations = figures.quality(session)
    lots, reference = figures.manufacturing(session, steps), figures.reference()
    report = TrialReport(figures.enrolment(session), lots, reference, figures.doses(session), tests,
                         sorted(deviations.items()), figures.exceptional_releases(session), figures.alerts(session),
                         timelines(session, steps))
    if with_charts:
        report.charts = figures.charts(lots, reference)
    return report
