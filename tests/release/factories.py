"""QC results for a dose unit, recorded and verified through the operations."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseUnit, StepKind
from manufacturing.quality import qc
from manufacturing.release import operations
from tests.factories import PASSWORD
from tests.processing.factories import SCHEDULE, PreparedLot, set_up_prepared_lot

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
