"""What quality answers processing: a step that crossed an action limit needs a deviation before verification."""

from sqlalchemy import select

from manufacturing.extensions import db
from manufacturing.processing.checks import action_breached, lot_spec, step_checks
from manufacturing.processing.derived import derive
from manufacturing.processing.operations import lot_steps
from manufacturing.processing.signals import step_verifying
from manufacturing.quality.models import Deviation


def needs_deviation(step) -> bool:
    """An action limit crossed and no deviation opened for the step yet."""
    checks = step_checks(step, derive(lot_steps(step.lot))[step.id], lot_spec(step.lot))
    if not action_breached(checks):
        return False
    return db.session.scalar(select(Deviation.id).where(Deviation.step_id == step.id).limit(1)) is None


def deviation_required(step, **_) -> str | None:
    """Refuse to verify a step that crossed an action limit while no deviation is opened for it."""
    if needs_deviation(step):
        return "This step crossed an action limit: open a deviation for it before it can be verified."
    return None


def connect() -> None:
    """Connect quality's receivers; called once by the application factory."""
    step_verifying.connect(deviation_required)
