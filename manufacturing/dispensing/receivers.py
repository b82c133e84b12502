"""What dispensing answers patients: when each infusion of a subject was given."""

from manufacturing.dispensing.queries import administered_dates
from manufacturing.dispensing.queries import latest_start as latest_recorded_start
from manufacturing.patients.signals import infusion_started, infusions_given


def infusion_dates(subject, **_) -> dict:
    """Return the site date each infusion of the subject started, from the administration records."""
    return administered_dates(subject)


def latest_start(subject, **_):
    """Return when the subject's latest recorded infusion started."""
    return latest_recorded_start(subject)


def connect() -> None:
    """Connect dispensing's receivers; called once by the application factory."""
    infusions_given.connect(infusion_dates)
    infusion_started.connect(latest_start)
