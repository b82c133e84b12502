"""What release does when a lower layer reports what stops released units: a failing result, a correction of the
record, a deviation affecting the product. Each stops every released unit of the lot not yet given."""

from manufacturing.processing.signals import step_corrected
from manufacturing.quality.signals import deviation_affects_product, result_failed
from manufacturing.release.alerts import raise_if_released, stop_released_units


def alert_released_doses(result, evaluation, **_) -> list:
    """Open a post-release alert for each released dose unit the failing result concerns."""
    return raise_if_released(result, evaluation)


def stop_on_correction(step, reason: str, **_) -> None:
    """A step corrected after release: the release was signed on the record as it stood."""
    title = f"culture day {step.day_number}" if step.day_number is not None else step.kind.title.lower()
    stop_released_units(step.lot_id, f"The {title} was corrected ({reason.strip()})")


def stop_on_affecting_deviation(deviation, **_) -> None:
    """A deviation assessed as affecting the product after release."""
    stop_released_units(deviation.lot_id, f"Deviation {deviation.number} affects the product")


def connect() -> None:
    """Connect release's receivers; called once by the application factory."""
    result_failed.connect(alert_released_doses)
    step_corrected.connect(stop_on_correction)
    deviation_affects_product.connect(stop_on_affecting_deviation)
