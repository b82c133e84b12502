"""Read what a technician typed into the values of a step, keeping the text as entered (ALCOA)."""

from dataclasses import dataclass, field
from datetime import datetime

from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from manufacturing.core.plausible import read_typed
from manufacturing.processing.kinds import Field, StepDefinition
from manufacturing.units import Q_, Quantity, QuantityError

CHECKED = {"y", "yes", "on", "true", "1"}


class EntryError(DomainError):
    """One or more entered values were refused; the message names each field."""


@dataclass(frozen=True)
class Entry:
    """A value as stored: a quantity or a text, and the text exactly as typed."""

    key: str
    entered: str
    quantity: Quantity | None = None
    text: str | None = None


@dataclass
class StepInput:
    """Everything a technician submits for one step."""

    values: dict[str, str]
    performed_at: datetime
    materials: dict[str, int | None] = field(default_factory=dict)
    equipment: dict[str, int | None] = field(default_factory=dict)
    observations: str = ""
    unit_printed: bool = False  # typed on the step's form, which prints each field's unit: a bare number is in it


def _read_quantity(step: str, spec: Field, text: str, unit_printed: bool) -> Entry:
    """Read a quantity (a bare number in its field's unit where the form prints it); a percentage above 100 is
    implausible."""
    quantity = read_typed(text, spec.unit, f"{step}.{spec.key}", unit_printed=unit_printed)
    return Entry(spec.key, text, quantity=quantity)


def _read_datetime(spec: Field, text: str) -> Entry:
    try:
        moment = clock.local_from_naive(datetime.fromisoformat(text.replace(" ", "T")))
    except ValueError:
        raise QuantityError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)") from None
    return Entry(spec.key, text, text=moment.isoformat())


def _read_one(step: str, spec: Field, text: str, unit_printed: bool) -> Entry | None:
    if spec.kind == "check":
        if text.lower() not in CHECKED:
            raise QuantityError("must be confirmed; if it does not hold, stop and open a deviation")
        return Entry(spec.key, "confirmed", text="confirmed")
    if not text:
        if spec.required:
            raise QuantityError("is required")
        return None
    if spec.kind == "choice":
        if text not in dict(spec.choices):
            raise QuantityError(f"{text!r} is not one of the choices")
        return Entry(spec.key, text, text=text)
    if spec.kind == "datetime":
        return _read_datetime(spec, text)
    return _read_quantity(step, spec, text, unit_printed)


def read_entries(definition: StepDefinition, raw: dict[str, str], unit_printed: bool = False) -> dict[str, Entry]:
    """Read every field of a step; refuse with one message naming every bad field."""
    entries, problems = {}, []
    for spec in definition.fields:
        try:
            entry = _read_one(definition.spec_step, spec, (raw.get(spec.key) or "").strip(), unit_printed)
        except QuantityError as error:
            problems.append(f"{spec.label}: {error.message}")
            continue
        if entry is not None:
            entries[spec.key] = entry
    if problems:
        raise EntryError("Not saved. " + " ".join(f"{p.rstrip('.')}." for p in problems))
    return entries


def as_datetime(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def collected_at(receipt) -> datetime | None:
    """When the apheresis was collected, as its receipt recorded it (UTC); None where it was not recorded."""
    value = receipt.value("collected_at")
    return clock.as_utc(as_datetime(value.text)) if value is not None and value.text else None


def hours_between(start: datetime, end: datetime) -> Quantity:
    return Q_((end - start).total_seconds() / 3600, "hour")
