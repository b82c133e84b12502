"""Shared moves of the adversarial tests: a failing result after release, a correction, counting rows."""

from datetime import timedelta

from sqlalchemy import func, select

from manufacturing.core import clock
from manufacturing.extensions import db
from manufacturing.processing import operations as processing
from manufacturing.processing.entries import StepInput
from manufacturing.processing.models import StepKind
from tests.factories import PASSWORD
from tests.release.factories import record


def fail_sterility(ward, at=None, verify=False):
    """A positive culture of the fresh unit, recorded now (or at `at`)."""
    return record(ward.bench, ward.lot, ward.fresh, "sterility", "growth", at or clock.now(), verify=verify)


def correct_culture_day(ward, at=None):
    """Correct the observations of the lot's first culture day, as a technician, after the release."""
    bench = ward.bench
    step = next(s for s in processing.lot_steps(ward.lot) if s.kind == StepKind.CULTURE_DAY)
    given = bench.step_input(step.kind, step.performed_at)
    given = StepInput(values=given.values, performed_at=given.performed_at, materials=given.materials,
                      equipment=given.equipment, observations="Clumps seen, count repeated")
    bench._as(bench.technician, at or clock.now(), processing.correct_step, step, given,
              "Observation left out", bench.technician, PASSWORD, bench.technician.username)
    return step


def row_counts() -> dict[str, int]:
    """Rows of every table of the application."""
    counts = {}
    for table in db.metadata.sorted_tables:
        counts[table.name] = db.session.scalar(select(func.count()).select_from(table))
    return counts


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
