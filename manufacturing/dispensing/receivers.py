"""What dispensing answers patients: when each infusion of a subject was given."""

from manufacturing.dispensing.queries import administered_dates
from manufacturing.patients.signals import infusions_given


def infusion_dates(subject, **_) -> dict:
    """Return the site date each infusion of the subject started, from the administration records."""
    return administered_dates(subject)


def connect() -> None:
    """Connect dispensing's receivers; called once by the application factory."""
    infusions_given.connect(infusion_dates)
