"""Chain of identity and sense of an export: it names this lot's sample, a known instrument, a sensible time."""

import re
from datetime import datetime, timedelta

from manufacturing.core import clock
from manufacturing.core.errors import DomainError, OutOfSequence
from manufacturing.core.text import text_problem
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment, EquipmentKind
from manufacturing.materials.operations import check_equipment_usable, find_equipment_by_serial
from manufacturing.processing.operations import FUTURE_TOLERANCE

SEPARATOR = re.compile(r"[\s\-_/.:;,#]")
DIN_FLAGS = re.compile(r"\d{2}")  # a scanned DIN carries two flag digits after its thirteen characters


def _label_at_start(label: str) -> re.Pattern:
    """The label at the start of an upper-cased sample ID, spaces allowed anywhere in it, after a scanner's "="."""
    return re.compile(r"\s*=?\s*" + r"\s*".join(re.escape(character) for character in label.upper()
                                                 if not character.isspace()))


def _shape(label: str) -> re.Pattern:
    """Any label of the same shape (letters for letters, digits for digits): another lot's DIN or number."""
    return re.compile("".join(r"\d" if character.isdigit() else "[A-Z]" if character.isalpha()
                              else re.escape(character) for character in label.upper() if not character.isspace()))


def names_lot(sample_id: str, lot: Lot, labels: tuple[str, ...]) -> bool:
    """The sample ID begins with one of the lot's labels, followed by nothing, a separator, or a DIN's flags."""
    given = (sample_id or "").upper()
    named = [template.format(din=lot.din, lot_number=lot.lot_number) for template in labels]
    for template, label in zip(labels, named, strict=True):
        found = _label_at_start(label).match(given) if label.strip() else None
        if found is None:
            continue
        rest = given[found.end():]
        if not rest or (template == "{din}" and DIN_FLAGS.fullmatch(rest)):
            return True
        if SEPARATOR.match(rest):  # a suffix such as "-D7", but never another lot's label
            squeezed = "".join(rest.split())
            return not any(_shape(other).search(squeezed) for other in named if other.strip())
    return False


def names_another_lot(text: str, lot: Lot, labels: tuple[str, ...]) -> bool:
    """The text holds a label of the shape of this lot's (a DIN, a lot number) that is not this lot's."""
    squeezed = "".join((text or "").upper().split())
    own = ["".join(template.format(din=lot.din, lot_number=lot.lot_number).upper().split()) for template in labels]
    for label in own:
        if not label:
            continue
        for found in _shape(label).finditer(squeezed):
            if found.group() not in own:
                return True
    return False


def check_names_no_other_lot(text: str, lot: Lot, labels: tuple[str, ...], where: str) -> None:
    if names_another_lot(text, lot, labels):
        raise DomainError(f"The file's {where} {text!r} names another lot than {lot.lot_number} (DIN {lot.din}): "
                          "it may be another patient's sample. Nothing was kept.")


def check_names_lot(sample_id: str, lot: Lot, labels: tuple[str, ...]) -> None:
    if not names_lot(sample_id, lot, labels):
        raise DomainError(f"The file's sample ID {sample_id!r} does not name lot {lot.lot_number} "
                          f"(DIN {lot.din}): it may be another patient's sample. Nothing was imported.")


def check_analysis_time(analysed_at: datetime | None, started_at: datetime, what: str,
                        within: timedelta | None = None) -> None:
    """The analysis lies after the step or sample it belongs to began (within `within` of it), not in the future."""
    if analysed_at is None:
        raise DomainError("The file does not say when the sample was analysed: it cannot be imported.")
    if analysed_at > clock.now() + FUTURE_TOLERANCE:
        raise DomainError(f"The file says the sample was analysed on {clock.format_local(analysed_at)}, "
                          "which is in the future: check the instrument's clock.")
    if analysed_at < started_at:
        raise OutOfSequence(f"The file says the sample was analysed on {clock.format_local(analysed_at)}, "
                            f"before {what} ({clock.format_local(started_at)}): it is not this step's sample.")
    if within is not None and analysed_at > started_at + within:
        hours = within.total_seconds() / 3600
        raise OutOfSequence(f"The file says the sample was analysed on {clock.format_local(analysed_at)}, more "
                            f"than {hours:g} h after {what} ({clock.format_local(started_at)}): check the time "
                            "of the step, or import the file on the step it belongs to.")


def instrument_used(serial_number: str | None, instrument: str, kind: EquipmentKind, at: datetime,
                    chosen: Equipment | None = None) -> Equipment | None:
    """The registered equipment that made the file, of the kind the step uses, in calibration when it analysed.

    A file that names its serial number names its instrument; for one that does not (the Vi-CELL BLU's export,
    say), the technician chooses the registered instrument, and None is returned until one is chosen.
    """
    if serial_number and (problem := text_problem(serial_number)):
        raise DomainError(f"The file's serial number of the {instrument} {problem}: export the file again.")
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
