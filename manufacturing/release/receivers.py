"""What release does when quality reports a failing result: alert on every released dose it concerns."""

from manufacturing.quality.signals import result_failed
from manufacturing.release.alerts import raise_if_released


def alert_released_doses(result, evaluation, **_) -> list:
    """Open a post-release alert for each released dose unit the failing result concerns."""
    return raise_if_released(result, evaluation)


def connect() -> None:
    """Connect release's receivers; called once by the application factory."""
    result_failed.connect(alert_released_doses)
