"""Demo quality records: a lot's QC results recorded and verified, a lot held on a deviation."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.lots import operations as lot_operations
from manufacturing.lots.models import Lot
from manufacturing.patients.models import Subject
from manufacturing.processing import demo as bench
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import StepKind
from manufacturing.processing.operations import record_step
from manufacturing.quality import qc
from manufacturing.quality.models import DeviationClass
from manufacturing.quality.operations import open_deviation
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


def lot_on_hold(crew: bench.Crew, subject: Subject, din: str, received_at: datetime, lots: list[Lot]) -> bench.Story:
    """CD3 depletion below its action limit: a deviation is opened and QA holds the lot."""
    yield from bench.received(crew, subject, din, received_at, lots)
    lot = lots[-1]
    at = received_at + timedelta(hours=3)
    yield at
    user = crew.act(crew.technician)
    poor = {**bench.SEPARATION, "viability": "93 %", "nk_fraction": "55 %", "cd3_fraction": "5 %"}
    given = bench.inputs(StepKind.CD3_DEPLETION, at, poor)
    step = record_step(lot, StepKind.CD3_DEPLETION, given, user, crew.password(user), user.username)
    yield at + timedelta(hours=1)
    open_deviation(lot, crew.act(crew.technician), DeviationClass.MAJOR, "T-cell log depletion below the action limit",
                   "CD3 depletion reached 1.97 log (action limit 2.0 log); 5 % CD3+ cells remain.",
                   "Product kept at 2-8 °C; QA informed; no further processing until QA decides.", step)
    yield at + timedelta(hours=1, minutes=30)
    lot_operations.hold(lot, crew.act(crew.qa), "Investigation of the CD3 depletion (deviation opened): decide on "
                                                "a second depletion or cancellation.")
