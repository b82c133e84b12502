"""What lots answers patients: a subject's ID printed on a lot's labels cannot be corrected."""

from sqlalchemy import select

from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.patients.signals import subject_code_correcting


def labelled_lots_problem(subject, **_) -> str | None:
    """Refuse a correction of the subject's ID while a lot carries it on its labels."""
    lots = list(db.session.scalars(select(Lot.lot_number).where(Lot.subject_id == subject.id).order_by(Lot.id)))
    if not lots:
        return None
    return f"The study subject ID is on the labels of lot {', '.join(lots)}: it cannot be corrected here."


def connect() -> None:
    """Connect lots' receivers; called once by the application factory."""
    subject_code_correcting.connect(labelled_lots_problem)
