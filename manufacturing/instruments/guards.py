"""Chain of identity and sense of an export: it names this lot's sample, a known instrument, a sensible time."""

import re
from datetime import datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.errors import DomainError, OutOfSequence
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment, EquipmentKind
from manufacturing.materials.operations import check_equipment_usable, find_equipment_by_serial

FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks of instruments and server differ by a few minutes at most
SEPARATOR = re.compile(r"[\s\-_/.:;,#]")
DIN_FLAGS = re.compile(r"\d{2}")  # a scanned DIN carries two flag digits after its thirteen characters


def _label_at_start(label: str) -> re.Pattern:
    """The label at the start of a sample ID, spaces allowed anywhere in it, case aside, after a scanner's "="."""
    return re.compile(r"\s*=?\s*" + r"\s*".join(re.escape(character) for character in label if not character.isspace()),
                      re.IGNORECASE)


def names_lot(sample_id: str, lot: Lot, labels: tuple[str, ...]) -> bool:
    """The sample ID begins with one of the lot's labels, followed by nothing, a separator, or a DIN's flags."""
    for template in labels:
        label = template.format(din=lot.din, lot_number=lot.lot_number)
        found = _label_at_start(label).match(sample_id or "") if label.strip() else None
        if found is None:
            continue
        rest = sample_id[found.end():]
        if not rest or SEPARATOR.match(rest) or (template == "{din}" and DIN_FLAGS.fullmatch(rest)):
            return True
    return False


def check_names_lot(sample_id: str, lot: Lot, labels: tuple[str, ...]) -> None:
    if not names_lot(sample_id, lot, labels):
        raise DomainError(f"The file's sample ID {sample_id!r} does not name lot {lot.lot_number} "
                          f"(DIN {lot.din}): it may be another patient's sample. Nothing was imported.")


def check_analysis_time(analysed_at: datetime | None, started_at: datetime, what: str) -> None:
    """The analysis lies after the step or sample it belongs to began, and not in the future."""
    if analysed_at is None:
        raise DomainError("The file does not say when the sample was analysed: it cannot be imported.")
    if analysed_at > clock.now() + FUTURE_TOLERANCE:
        raise DomainError(f"The file says the sample was analysed on {clock.format_local(analysed_at)}, "
                          "which is in the future: check the instrument's clock.")
    if analysed_at < started_at:
        raise OutOfSequence(f"The file says the sample was analysed on {clock.format_local(analysed_at)}, "
                            f"before {what} ({clock.format_local(started_at)}): it is not this step's sample.")


def instrument_used(serial_number: str | None, instrument: str, kind: EquipmentKind, at: datetime,
                    chosen: Equipment | None = None) -> Equipment | None:
    """The registered equipment that made the file, of the kind the step uses, in calibration when it analysed.

    A file that names its serial number names its instrument; for one that does not (the Vi-CELL BLU's export,
    say), the technician chooses the registered instrument, and None is returned until one is chosen.
    """
    if serial_number:
        equipment = find_equipment_by_serial(serial_number)
        if equipment is None:
            raise DomainError(f"The {instrument} with serial number {serial_number} is not registered as "
                              "equipment: QA registers it (with its serial number) before its files are imported.")
    elif chosen is None:
        return None
    else:
        equipment = chosen
    if equipment.kind != kind:
        raise DomainError(f"{equipment} is registered as a {equipment.kind.title.lower()}, "
                          f"not a {kind.title.lower()}.")
    check_equipment_usable(equipment, at)
    return equipment


def require_instrument(equipment: Equipment | None, instrument: str, kind: EquipmentKind) -> Equipment:
    if equipment is None:
        raise DomainError(f"The file does not give the serial number of the {instrument}: choose the "
                          f"{kind.title.lower()} that made it.")
    return equipment
