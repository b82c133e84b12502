"""Checks that tie a step's values to the steps before it (volumes, cell numbers, culture days)."""

from datetime import datetime

from manufacturing.core import clock
from manufacturing.core.errors import DomainError, OutOfSequence
from manufacturing.processing.derived import derive
from manufacturing.processing.entries import Entry, as_datetime
from manufacturing.processing.models import ProcessStep, StepKind
from manufacturing.units import format_quantity


def _latest(history: list[ProcessStep], kind: StepKind) -> ProcessStep | None:
    steps = [step for step in history if step.kind == kind]
    return steps[-1] if steps else None


def culture_day(day0: ProcessStep, at: datetime) -> int:
    """Count the culture day of a moment: site-local calendar days since culture day 0."""
    return days_since_day0(day0.performed_at, at)


def days_since_day0(day0_at: datetime, at: datetime) -> int:
    """Site-local calendar days from the moment of culture day 0 to `at`."""
    return (clock.local_date(at) - clock.local_date(day0_at)).days


def culture_day_number(kind: StepKind, history: list[ProcessStep], performed_at: datetime) -> int | None:
    """Number a culture day from the date of day 0, in the site's local dates."""
    if kind != StepKind.CULTURE_DAY:
        return None
    day0 = _latest(history, StepKind.CULTURE_DAY0)
    if day0 is None:
        raise OutOfSequence("Culture day 0 is not recorded.")
    number = culture_day(day0, performed_at)
    if number < 1:
        raise OutOfSequence("A culture day comes at least one day after day 0.")
    if any(step.day_number == number for step in history if step.kind == StepKind.CULTURE_DAY):
        raise OutOfSequence(f"Culture day {number} is already recorded; correct it instead.")
    return number


def _no_more_than(entry: Entry | None, available, what: str) -> None:
    if entry is not None and available is not None and entry.quantity > available:
        raise DomainError(f"{what} ({format_quantity(entry.quantity)}) is more than there is "
                          f"({format_quantity(available)}).")


def check_consistency(kind: StepKind, entries: dict[str, Entry], history: list[ProcessStep],
                      performed_at: datetime) -> None:
    """Refuse values that contradict the earlier steps of the lot."""
    if kind == StepKind.APHERESIS_RECEIPT:
        collected = as_datetime(entries["collected_at"].text) if "collected_at" in entries else None
        if collected is not None and collected > performed_at:
            raise DomainError("The collection time is after the time of receipt: check the bag label.")
    elif kind == StepKind.CD3_DEPLETION:
        apheresis = _latest(history, StepKind.APHERESIS_RECEIPT)
        volume = apheresis.value("volume").quantity if apheresis and apheresis.value("volume") else None
        _no_more_than(entries.get("volume_loaded"), volume, "The volume loaded")
    elif kind == StepKind.CULTURE_DAY0:
        selection = _latest(history, StepKind.CD56_SELECTION)
        available = derive(history)[selection.id].values.get("total_viable_cells") if selection else None
        seeded = entries["seeding_density"].quantity * entries["culture_volume"].quantity
        if available is not None and seeded > available:
            raise DomainError(f"Seeding {format_quantity(seeded.to('cell'))} needs more viable cells than the "
                              f"selected product holds ({format_quantity(available)}).")
    elif kind == StepKind.CULTURE_DAY:
        _no_more_than(entries.get("volume_removed"), entries["volume"].quantity, "The volume removed")
        _no_more_than(entries.get("viable_concentration"), entries["concentration"].quantity,
                      "The viable cell concentration")
