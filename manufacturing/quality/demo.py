"""Demo QC results: each dose unit's release tests recorded by one technician, verified by the other."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.doses import doses_of
from manufacturing.quality import qc
from manufacturing.units import format_quantity

PASSING = {"appearance": "conforms", "identity": "conforms", "viability": "95 %", "nk_purity": "97 %",
           "cd3": "0.4 %", "cd19": "0.05 %", "gram_stain": "no organisms seen", "endotoxin": "0.5 EU/mL",
           "potency": "48 %"}


def _as(crew, user):
    set_actor(db.session, user.id, user.username)
    return user


def results_story(crew, lots: list[Lot], at: datetime) -> Iterator[datetime]:
    """At `at`, the first lot's results come in (sterility still incubating); each is verified."""
    yield at
    lot = lots[0]
    technician = _as(crew, crew.technician)
    recorded = [qc.record_result(lot, None, "mycoplasma", "negative", at, technician,
                                 crew.password(technician), technician.username)]
    for dose in doses_of(lot):
        measured = {**PASSING, "dose": format_quantity(dose.cells, plain=True)}
        recorded += [qc.record_result(lot, dose, key, entered, at, technician, crew.password(technician),
                                      technician.username) for key, entered in measured.items()]
    yield at + timedelta(minutes=30)
    verifier = _as(crew, crew.verifier)
    for result in recorded:
        qc.verify_result(result, verifier, crew.password(verifier), verifier.username)
