"""QC results for a dose unit, recorded and verified through the operations."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.processing import operations as processing
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseKind, DoseUnit, StepKind
from manufacturing.processing.operations import lot_steps
from manufacturing.quality import qc
from manufacturing.quality.models import DeviationClass, QcKind
from manufacturing.quality.operations import open_deviation
from manufacturing.release import operations
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE, PreparedLot, set_up_bench, set_up_prepared_lot

# Results that pass the specification for the bench's fresh unit (1e6 cells/kg on 64.0 kg, 50 mL).
PASSING = {
    "appearance": "conforms", "identity": "conforms", "viability": "96 %", "nk_purity": "97 %", "cd3": "0.5 %",
    "cd19": "0.1 %", "dose": "6.4e7 cells", "gram_stain": "no organisms seen", "endotoxin": "0.5 EU/mL",
    "mycoplasma": "negative", "potency": "45 %",
}
LOT_WIDE = {"mycoplasma"}


def record(bench, lot, dose, test_key, entered, at, verify=True):
    """Record one result as the technician; have the second technician verify it."""
    with clock.frozen(at):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        result = qc.record_result(lot, None if test_key in LOT_WIDE else dose, test_key, entered, at,
                                  bench.technician, PASSWORD, bench.technician.username)
        db.session.commit()
    if verify:
        with clock.frozen(at + timedelta(minutes=10)):
            set_actor(db.session, bench.verifier.id, bench.verifier.username)
            qc.verify_result(result, bench.verifier, PASSWORD, bench.verifier.username)
            db.session.commit()
    return result


def record_results(bench, lot, unit, at, **changes):
    """Record every release result (sterility pending unless given); `changes` replace or drop (None) values."""
    values = {**PASSING, **changes}
    for number, (key, entered) in enumerate(values.items()):
        if entered is not None:
            record(bench, lot, unit, key, entered, at + timedelta(minutes=number))


@dataclass
class ReleasedDose(PreparedLot):
    """A prepared lot whose first unit has every result but sterility in, and QA's interim release an hour later."""

    dose: DoseUnit
    at: datetime  # when its results were recorded


def set_up_released_dose(technician, verifier, qa, pharmacist, start: datetime) -> ReleasedDose:
    prepared = set_up_prepared_lot(technician, verifier, qa, pharmacist, start)
    bench, lot = prepared.bench, prepared.lot
    dose = doses_of(lot)[0]
    at = bench.at(SCHEDULE[StepKind.DOSE_PREPARATION] + 2)
    record_results(bench, lot, dose, at)
    bench._as(bench.qa, at + timedelta(hours=1), operations.release_dose, dose, bench.qa, PASSWORD, bench.qa.username)
    return ReleasedDose(bench, lot, dose, at)



@dataclass
class SizedLot(PreparedLot):
    """A lot of `scale` times the work of a small one, every kind of record present on it."""

    scale: int


def set_up_sized_lot(technician, verifier, qa, pharmacist, start: datetime, scale: int) -> SizedLot:
    """Take a lot through dose preparation with 3 x scale culture days, min(scale, 5) dose units and their
    results, and `scale` step corrections, deviations and retests."""
    bench = set_up_bench(technician, verifier, qa, pharmacist, start)
    lot = bench.lot_through(StepKind.CULTURE_DAY0)
    day0 = bench.at(SCHEDULE[StepKind.CULTURE_DAY0])
    last = day0
    for day in range(1, 3 * scale + 1):
        last = day0 + timedelta(days=day)
        bench.verify(bench.record(lot, StepKind.CULTURE_DAY, last,
                                  concentration=f"{0.6 + 0.5 * min(day, 14):.1f} x 10^6 cells/mL"))
    harvest_at = last + timedelta(days=1)
    bench.verify(bench.record(lot, StepKind.HARVEST, harvest_at))
    prepared_at = harvest_at + timedelta(hours=3)
    bench.weigh(prepared_at - timedelta(hours=1))
    units = [(number, "1e6 cells/kg", DoseKind.FRESH, "50 mL") for number in range(1, min(scale, 5) + 1)]
    bench.verify(bench.prepare(lot, prepared_at, units))
    _corrections_and_deviations(bench, lot, scale, prepared_at + timedelta(hours=1))
    at = prepared_at + timedelta(hours=2)
    for number, dose in enumerate(doses_of(lot)):
        once = {"mycoplasma": None} if number else {}  # a lot-wide test, recorded with the first unit
        record_results(bench, lot, dose, at + timedelta(minutes=20 * number), **once)
    _retests(bench, lot, scale, at + timedelta(hours=3))
    db.session.refresh(lot)
    return SizedLot(bench, lot, scale)


def _corrections_and_deviations(bench, lot, scale: int, at: datetime) -> None:
    """Correct `scale` culture days (each verified again) and open a deviation on each."""
    days = [step for step in lot_steps(lot) if step.kind == StepKind.CULTURE_DAY][:scale]
    for number, step in enumerate(days):
        when = at + timedelta(minutes=10 * number)
        given = bench.step_input(StepKind.CULTURE_DAY, step.performed_at, viability="92 %")
        bench._as(bench.technician, when, processing.correct_step, step, given, "Viability misread from the counter",
                  bench.technician, PASSWORD, bench.technician.username)
        bench.verify(step, minutes_later=int((when - step.performed_at).total_seconds() // 60) + 5)
        bench._as(bench.technician, when + timedelta(minutes=6), open_deviation, lot, bench.technician,
                  DeviationClass.MINOR, f"Counter misread {number + 1}", "The viability was misread.",
                  "Recounted from the printout.", step)


def retest(bench, lot, dose, test_key: str, entered: str, at: datetime, comment: str):
    """Record a retest of the test's latest result as the technician, the reason given (not verified)."""
    earlier = qc.results_of_test(lot, dose, test_key)[-1]
    with clock.frozen(at):
        set_actor(db.session, bench.technician.id, bench.technician.username)
        result = qc.record_result(lot, dose, test_key, entered, at, bench.technician, PASSWORD,
                                  bench.technician.username, kind=QcKind.RETEST, retest_of=earlier, comment=comment)
        db.session.commit()
    return result


def _retests(bench, lot, scale: int, at: datetime) -> None:
    """Retest the viability of each dose unit `scale` times, the reason given."""
    for dose in doses_of(lot):
        for number in range(scale):
            retest(bench, lot, dose, "viability", "95 %", at, f"Retained sample counted again ({number + 1})")
            at += timedelta(minutes=2)
