"""Demo release of a prepared lot (in records: it prints the labels): results in, the fresh unit released on an
interim certificate and labelled; two weeks later the sterility cultures read no growth, the frozen units are
released on their final certificate."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.doses import doses_of
from manufacturing.processing.models import DoseKind
from manufacturing.quality import demo as quality_demo
from manufacturing.quality import qc
from manufacturing.records.label import print_label
from manufacturing.release import guards, operations

STERILITY_READ_AFTER = timedelta(days=14)


def _qa(crew):
    set_actor(db.session, crew.qa.id, crew.qa.username)
    return crew.qa


def _release_and_label(crew, units) -> None:
    qa = _qa(crew)
    for dose in units:
        operations.release_dose(dose, qa, crew.password(qa), qa.username)
        print_label(dose, qa)


def _sterility_read(crew, lot: Lot, at: datetime) -> Iterator[datetime]:
    yield at
    technician = quality_demo._as(crew, crew.technician)
    recorded = [qc.record_result(lot, dose, "sterility", "no growth", at, technician, crew.password(technician),
                                 technician.username) for dose in doses_of(lot)]
    yield at + timedelta(minutes=30)
    verifier = quality_demo._as(crew, crew.verifier)
    for result in recorded:
        qc.verify_result(result, verifier, crew.password(verifier), verifier.username)


def release_story(crew, lots: list[Lot], prepared_at: datetime, needed: int = 5) -> Iterator[datetime]:
    """The last lot of `lots`, prepared at `prepared_at`, through QC and release (see the module).

    Only the frozen units of the first `needed` infusions are released; the others stay frozen in quarantine.
    """
    results_at = prepared_at + timedelta(minutes=35)
    yield from quality_demo.results_story(crew, lots[-1:], results_at)
    lot = lots[-1]
    yield results_at + timedelta(hours=1)
    _release_and_label(crew, [dose for dose in doses_of(lot) if dose.kind == DoseKind.FRESH])
    yield from _sterility_read(crew, lot, results_at + STERILITY_READ_AFTER)
    yield results_at + STERILITY_READ_AFTER + timedelta(hours=1)
    qa = _qa(crew)
    for dose in doses_of(lot):
        if guards.final_problem(dose) is None:
            operations.release_final(dose, qa, crew.password(qa), qa.username)
    _release_and_label(crew, [dose for dose in doses_of(lot) if dose.kind != DoseKind.FRESH
                              and dose.infusion_number <= needed])
