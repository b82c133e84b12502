"""Scan to find: a DIN (scanned or typed, flags or not), a wristband's subject ID or a lot number, to its page.

What a scan names is read by the rules that read it everywhere else (lots/din.py for a DIN); what it does not
name gets a message in the lab's words, never a guess: a DIN typed without its check character is refused as
at receipt, so that a typing error cannot open another patient's lot.
"""

import re
from dataclasses import dataclass, field

from sqlalchemy import select

from manufacturing.core.errors import DomainError
from manufacturing.core.text import text_problem
from manufacturing.extensions import db
from manufacturing.lots import din as isbt
from manufacturing.lots.models import Lot
from manufacturing.patients.models import Subject
from manufacturing.patients.operations import find_subject

LONGEST = 60  # no code of the lab is longer: a longer entry is two scans run together
_LOOKS_LIKE_DIN = re.compile(r"[A-Z][0-9]{4}\s*[0-9]{2}\s*[0-9]{6}", re.IGNORECASE)


class NotFound(DomainError):
    """The scan names nothing the user can be taken to."""


@dataclass(frozen=True)
class Found:
    """The page a scan leads to."""

    endpoint: str
    arguments: dict = field(default_factory=dict)


def _lot_of_din(entry: str) -> Found:
    din = isbt.parse(entry)
    lot_id = db.session.scalar(select(Lot.id).where(Lot.din == din.din13))
    if lot_id is None:
        raise NotFound(f"No lot was received with DIN {din.grouped}.")
    return Found("lots.detail", {"lot_id": lot_id})


def _by_number(entry: str) -> Found | None:
    lot_id = db.session.scalar(select(Lot.id).where(Lot.lot_number == entry.upper()))  # numbered in capitals
    if lot_id is not None:
        return Found("lots.detail", {"lot_id": lot_id})
    subject = _subject_with_code(entry)
    if subject is not None:
        return Found("patients.detail", {"subject_id": subject.id})
    return None


def _subject_with_code(entry: str) -> Subject | None:
    """The subject whose ID a wristband carries (small letters read as capitals, as IDs are stored)."""
    return find_subject(entry)


def _readable(code: str) -> str:
    """The scan without surrounding space; NotFound when no code of the lab could be that long or hold that."""
    entry = code.strip()
    if len(entry) > LONGEST:
        raise NotFound("That is longer than any code of the lab (two scans run together?): scan once more.")
    if problem := text_problem(entry):  # the rule of every typed text: hidden and control characters refused
        raise NotFound(f"The scan {problem}: scan once more.")
    return entry


def find(code: str | None) -> Found:
    """The page of what a scan or a typed code names; NotFound with the reason otherwise."""
    entry = _readable(code or "")
    if not entry:
        raise NotFound("Scan a bag's DIN or a wristband, or type a DIN, a subject ID or a lot number.")
    if entry.startswith(isbt.PRODUCT_CODE_DATA_IDENTIFIER):
        raise NotFound("That is a product code: it names the division, not the bag. Scan the bag's DIN.")
    if entry.startswith(isbt.DIN_DATA_IDENTIFIER):
        return _lot_of_din(entry)
    found = _by_number(entry)
    if found is not None:
        return found
    if _LOOKS_LIKE_DIN.match(entry):
        return _lot_of_din(entry)
    raise NotFound(f"No lot, bag or subject has the code “{entry}”.")


def _din_read(code: str) -> str:
    return f"DIN {isbt.parse(code).grouped}"


def _subject_known(code: str) -> str:
    entry = code.strip()
    subject = _subject_with_code(entry)
    if subject is None:
        raise NotFound(f"No subject has the ID “{entry}”: check the wristband.")
    return f"Subject {subject.subject_code}"


CHECKS = {"din": _din_read, "subject": _subject_known}


def scan_problem(kind: str, code: str) -> tuple[str | None, str]:
    """(why the scan is refused, or None; what was read) for a scan field of this kind."""
    check = CHECKS.get(kind)
    if check is None or not code.strip():
        return None, ""
    try:
        return None, check(_readable(code))
    except DomainError as error:
        return error.message, ""
