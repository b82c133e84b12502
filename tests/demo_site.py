"""The demo site in tests: its patients in progress, and their lots found by subject."""

from sqlalchemy import select

from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.patients.models import Subject

AWAITING_QA = "LAL2013-RM-004"  # a lot through dose preparation, its results in, awaiting QA
IN_CULTURE = "LAL2013-RM-005"
ON_HOLD = "LAL2013-RM-006"
COMPLETED, STOPPED, SECOND_COLLECTION = "LAL2013-RM-001", "LAL2013-RM-002", "LAL2013-RM-003"


def lot_of(subject_code: str, session=None) -> Lot:
    """The latest lot of a demo subject."""
    session = session or db.session
    return session.scalars(select(Lot).join(Subject, Lot.subject_id == Subject.id)
                           .where(Subject.subject_code == subject_code).order_by(Lot.id.desc()).limit(1)).one()


def load_demo_once():
    """The demo as `flask demo load` tells it, built once per database (and ten minutes); its printed passwords."""
    from manufacturing.core import clock
    from manufacturing.demo import load_story
    from tests.snapshots import built_once

    return built_once("demo", None, lambda: load_story(clock.now().replace(second=0, microsecond=0)))
