"""QC results for a dose unit, recorded and verified through the operations."""

from datetime import timedelta

from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.quality import qc
from tests.factories import PASSWORD

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
