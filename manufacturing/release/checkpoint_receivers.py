"""Every release, and every withdrawal of one, is followed by a signed checkpoint of the audit chain."""

from sqlalchemy.orm import object_session

from manufacturing.core.checkpoint_taking import request_checkpoint
from manufacturing.extensions import db
from manufacturing.release.signals import dose_released, release_withdrawn


def checkpoint_release(dose, **_) -> None:
    """Ask for a checkpoint once the release's transaction has committed."""
    request_checkpoint(object_session(dose) or db.session, "release")


def checkpoint_withdrawal(dose, **_) -> None:
    """Ask for a checkpoint once the withdrawal's transaction has committed."""
    request_checkpoint(object_session(dose) or db.session, "withdrawal")


def connect() -> None:
    """Connect the checkpoint receivers; called once by the application factory."""
    dose_released.connect(checkpoint_release)
    release_withdrawn.connect(checkpoint_withdrawal)
