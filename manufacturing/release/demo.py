"""Demo release: QA releases one cryopreserved unit on an interim certificate (sterility pending)."""

from collections.abc import Iterator
from datetime import datetime, timedelta

from manufacturing.core.audit import set_actor
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.doses import doses_of
from manufacturing.release.operations import release_dose
from manufacturing.release.signals import announce_release


def release_story(crew, lots: list[Lot], at: datetime, division: str = "B0") -> Iterator[datetime]:
    yield at
    dose = next(dose for dose in doses_of(lots[0]) if dose.division_code == division)
    set_actor(db.session, crew.qa.id, crew.qa.username)
    release_dose(dose, crew.qa, crew.password(crew.qa), crew.qa.username)
    yield at + timedelta(minutes=1)
    announce_release(dose, crew.qa)
