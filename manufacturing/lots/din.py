"""ISBT 128 chain of identity: the Donation Identification Number (DIN) and the product code.

A DIN is 13 characters: facility identification number (FIN, a capital letter other than O and four
digits), year (2 digits) and sequence number (6 digits), e.g. ``G1234 89 654321``. The barcode
(data structure 001) carries ``=`` + the 13 characters + two flag characters; the keyboard check
character K (ISO 7064 Mod 37-2 over the 13 characters) is printed boxed, eye-readable only.

Accepted input (``parse``), surrounding whitespace always ignored:

* a scan: ``=G12348965432100`` (= , 13 characters, 2 flag digits; capitals, no spaces). The scan
  carries no K: Code 128 has its own check. ``=G123489654321Y`` is also read (scanners set to
  convert type 3 flags into the check character), and then K is verified.
* keyboard entry: ``G123489654321Y`` (13 characters + K) or ``G12348965432100Y`` (with the flags
  as printed); spaces anywhere, small letters read as capitals. K is required: it catches typing
  errors. Flags typed by hand are not covered by K; type 3 flags are verified as for a scan.

Flags are two digits: 60-96 are type 3 flags (60 + the check value of K) and are verified; ``00``
means no flags; other values (process control, local use) are kept as printed. Flags describe the
container, not the donation: they take no part in equality, so a scan and a keyboard entry of
the same DIN compare equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from stdnum.iso7064 import mod_37_2

from manufacturing.core.errors import DomainError

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
DIN_DATA_IDENTIFIER = "="
PRODUCT_CODE_DATA_IDENTIFIER = "=<"
NO_FLAGS = "00"
FIRST_CHECK_FLAG = 60
LAST_CHECK_FLAG = FIRST_CHECK_FLAG + len(ALPHABET) - 1
AUTOLOGOUS_USE_ONLY = "1"
UNDIVIDED = "00"
MAX_DOSE_UNITS = 26

_FACILITY = re.compile(r"[A-NP-Z][0-9]{4}")
_YEAR = re.compile(r"[0-9]{2}")
_SEQUENCE = re.compile(r"[0-9]{6}")
_FLAGS = re.compile(r"[0-9]{2}")
_DESCRIPTION = re.compile(r"[A-Z][0-9]{4}")
_DONATION_TYPE = re.compile(r"[0-9A-Za-z]")
_DIVISION = re.compile(r"00|[A-Z][0a-z]")
_AGAIN = "re-scan the bag or re-type the number"


class DinError(DomainError):
    """A Donation Identification Number could not be read or is not valid."""


class ProductCodeError(DomainError):
    """An ISBT 128 product code could not be read or is not valid."""


def _grouped(din13: str) -> str:
    """Eye-readable grouping of 13 DIN characters: facility, year, sequence."""
    return f"{din13[:5]} {din13[5:7]} {din13[7:]}"


def _check_flags(din13: str) -> str:
    """Type 3 flags of 13 well-formed DIN characters: 60 + the check value of K."""
    return str(FIRST_CHECK_FLAG + ALPHABET.index(mod_37_2.calc_check_digit(din13)))


def flag_checksum(din13: str) -> str:
    """Type 3 flag characters for a DIN: 60 + the check value of its check character."""
    return _check_flags(_split(din13).din13)


def check_character(din13: str) -> str:
    """Keyboard check character K (ISO 7064 Mod 37-2) of the 13 DIN characters."""
    return _split(din13).check


class EyeReadable(NamedTuple):
    """The printed DIN: grouped number, flags (printed turned 90°) and the boxed check character."""

    din: str
    flags: str
    check: str

    def __str__(self) -> str:
        return f"{self.din} {self.flags} {self.check}"


@dataclass(frozen=True)
class Din:
    """One donation's identity; equal by facility, year and sequence (flags describe the container)."""

    facility: str
    year: str
    sequence: str
    flags: str = field(default=NO_FLAGS, compare=False)

    def __post_init__(self) -> None:
        _validate_din(self)

    @property
    def din13(self) -> str:
        """The 13 characters: facility, year, sequence."""
        return f"{self.facility}{self.year}{self.sequence}"

    @property
    def check(self) -> str:
        """The keyboard check character K."""
        return mod_37_2.calc_check_digit(self.din13)

    @property
    def keyboard(self) -> str:
        """Keyboard form: 13 characters and K, e.g. G123489654321Y."""
        return self.din13 + self.check

    @property
    def grouped(self) -> str:
        """Eye-readable grouping without flags and K, e.g. G1234 89 654321."""
        return _grouped(self.din13)

    @property
    def eye_readable(self) -> EyeReadable:
        """Parts of the printed DIN, so a label can turn the flags and box K."""
        return EyeReadable(self.grouped, self.flags, self.check)

    @property
    def barcode_data(self) -> str:
        """Data encoded in the Code 128 barcode: = + 13 characters + 2 flags (no K)."""
        return DIN_DATA_IDENTIFIER + self.din13 + self.flags

    def with_check_flags(self) -> Din:
        """The same DIN carrying type 3 flags (its check value in the barcode)."""
        return replace(self, flags=_check_flags(self.din13))

    def __str__(self) -> str:
        return self.keyboard


def _validate_din(din: Din) -> None:
    """Refuse a DIN whose parts are not as ISBT 128 requires."""
    if not isinstance(din.facility, str) or not _FACILITY.fullmatch(din.facility):
        raise DinError(
            f"The facility code of a DIN is a capital letter other than O and four digits "
            f"(e.g. G1234), not '{din.facility}': {_AGAIN}"
        )
    if not isinstance(din.year, str) or not _YEAR.fullmatch(din.year):
        raise DinError(f"The year of a DIN is two digits (e.g. 26), not '{din.year}': {_AGAIN}")
    if not isinstance(din.sequence, str) or not _SEQUENCE.fullmatch(din.sequence):
        raise DinError(
            f"The sequence number of a DIN is six digits (e.g. 000123), not '{din.sequence}': {_AGAIN}"
        )
    _validate_flags(din.din13, din.flags)


def _validate_flags(din13: str, flags: str) -> None:
    """Refuse flags that are not two digits, or type 3 flags that do not fit the DIN."""
    if not isinstance(flags, str) or not _FLAGS.fullmatch(flags):
        raise DinError(
            f"The flags of DIN {_grouped(din13)} are two digits (00 if not used), not '{flags}': "
            "re-scan the bag"
        )
    if FIRST_CHECK_FLAG <= int(flags) <= LAST_CHECK_FLAG and flags != (expected := _check_flags(din13)):
        raise DinError(
            f"The check flags of DIN {_grouped(din13)} should be {expected}, not {flags}: "
            "the barcode does not fit the number; re-scan the bag"
        )


def _split(din13: str, flags: str = NO_FLAGS) -> Din:
    """A Din from its 13 characters (validated)."""
    if not isinstance(din13, str) or len(din13) != 13:
        raise DinError(f"A DIN has 13 characters before its check character, not '{din13}': {_AGAIN}")
    return Din(din13[:5], din13[5:7], din13[7:], flags)


def _checked(din13: str, given: str, flags: str = NO_FLAGS) -> Din:
    """A Din whose typed check character has been verified."""
    din = _split(din13, flags)
    if given != din.check:
        raise DinError(
            f"The check character of DIN {din.grouped} should be {din.check}, not {given}: {_AGAIN}"
        )
    return din


def _from_scan(data: str) -> Din:
    """A Din from the characters a scanner typed after the = data identifier."""
    if data != data.upper() or any(c.isspace() for c in data):
        raise DinError(
            f"'={data}' is not a DIN barcode as ISBT 128 encodes it (capitals and digits, no spaces): "
            "re-scan the bag; if the scanner types small letters, check Caps Lock"
        )
    if len(data) == 15:
        return _split(data[:13], data[13:])
    if len(data) == 14:
        return _checked(data[:13], data[13])
    raise DinError(
        f"A scanned DIN is = then 13 characters and 2 flags (e.g. =G12348965432100); "
        f"'={data}' has {len(data)} characters after the =: re-scan the bag"
    )


def _from_keyboard(chars: str) -> Din:
    """A Din from keyboard entry without spaces: 13 characters, optional flags, then K."""
    if len(chars) == 13:
        din = _split(chars)
        raise DinError(
            f"DIN {din.grouped} was typed without its check character: type the boxed character "
            "printed after the number too, it catches typing errors"
        )
    if len(chars) == 14:
        return _checked(chars[:13], chars[13])
    if len(chars) == 16:
        return _checked(chars[:13], chars[15], flags=chars[13:15])
    raise DinError(
        f"A typed DIN is 13 characters and its check character (e.g. G1234 89 654321 Y); "
        f"'{chars}' has {len(chars)}: {_AGAIN}"
    )


def parse(text: str) -> Din:
    """Read a DIN from a barcode scan or from keyboard entry (see the module docstring)."""
    entry = (text or "").strip()
    if not entry:
        raise DinError(
            "No DIN was entered: scan the DIN barcode of the bag or type the DIN and its check character"
        )
    if entry.startswith(DIN_DATA_IDENTIFIER):
        return _from_scan(entry[len(DIN_DATA_IDENTIFIER) :])
    return _from_keyboard(re.sub(r"\s+", "", entry).upper())


def new_din(facility: str, year: int | str, sequence: int | str, flags: str = NO_FLAGS) -> Din:
    """Assign a DIN: facility code, year of collection (2 or 4 digits) and sequence number."""
    if isinstance(year, int):
        if not (0 <= year <= 99 or 1000 <= year <= 9999):
            raise DinError(f"The year of a DIN is the year of collection (e.g. 2026), not {year}")
        year = f"{year % 100:02d}"
    if isinstance(sequence, int):
        if not 0 <= sequence <= 999_999:
            raise DinError(f"The sequence number of a DIN is 0 to 999999, not {sequence}")
        sequence = f"{sequence:06d}"
    return Din(facility, year, sequence, flags)


@dataclass(frozen=True)
class ProductCode:
    """ISBT 128 product code (data structure 003): description code, type of donation, division.

    The type of donation defaults to "1" (for autologous use only). The division numbers the dose
    units of one collection: "00" undivided, dose unit 1 is "A0", 2 is "B0", ... 26 is "Z0"; a
    second-level division (e.g. "Bc") is read and belongs to dose unit 2. Product codes are case
    sensitive (small letters have their own meaning), so they are read as printed.
    """

    description: str
    donation_type: str = AUTOLOGOUS_USE_ONLY
    division: str = UNDIVIDED

    def __post_init__(self) -> None:
        _validate_product_code(self)

    @property
    def code(self) -> str:
        """The 8 characters of the product code."""
        return f"{self.description}{self.donation_type}{self.division}"

    @property
    def barcode_data(self) -> str:
        """Data encoded in the Code 128 barcode: =< + 8 characters."""
        return PRODUCT_CODE_DATA_IDENTIFIER + self.code

    @property
    def dose_unit(self) -> int | None:
        """Number of the dose unit (1 for A0), None when undivided."""
        if self.division == UNDIVIDED:
            return None
        return ord(self.division[0]) - ord("A") + 1

    def with_division(self, dose_unit: int) -> ProductCode:
        """The product code of dose unit 1, 2, ... of the collection (A0, B0, ...)."""
        if (
            isinstance(dose_unit, bool)
            or not isinstance(dose_unit, int)
            or not 1 <= dose_unit <= MAX_DOSE_UNITS
        ):
            raise ProductCodeError(
                f"A collection is divided into 1 to {MAX_DOSE_UNITS} dose units (A0 to Z0), not {dose_unit}"
            )
        return replace(self, division=chr(ord("A") + dose_unit - 1) + "0")

    @classmethod
    def parse(cls, text: str) -> ProductCode:
        """Read a product code scanned (=<S12341A0) or typed (S1234 1 A0, spaces ignored)."""
        entry = (text or "").strip()
        if entry.startswith(PRODUCT_CODE_DATA_IDENTIFIER):
            chars = entry[len(PRODUCT_CODE_DATA_IDENTIFIER) :]
        else:
            chars = re.sub(r"\s+", "", entry)
        if len(chars) != 8:
            raise ProductCodeError(
                f"A product code has 8 characters: description code, type of donation and division "
                f"(e.g. S12341A0); '{entry}' has {len(chars)}: re-scan the bag or re-type the code"
            )
        return cls(chars[:5], chars[5], chars[6:])

    def __str__(self) -> str:
        return self.code


def _validate_product_code(code: ProductCode) -> None:
    """Refuse a product code whose parts are not as ISBT 128 requires."""
    if not isinstance(code.description, str) or not _DESCRIPTION.fullmatch(code.description):
        raise ProductCodeError(
            f"The product description code is a capital letter and four digits (e.g. S1234), "
            f"not '{code.description}'"
        )
    if not isinstance(code.donation_type, str) or not _DONATION_TYPE.fullmatch(code.donation_type):
        raise ProductCodeError(
            f"The type of donation is one letter or digit (1: for autologous use only), "
            f"not '{code.donation_type}'"
        )
    if not isinstance(code.division, str) or not _DIVISION.fullmatch(code.division):
        raise ProductCodeError(
            f"The division code is 00 (undivided) or a capital letter and 0 or a small letter "
            f"(e.g. A0, Bc), not '{code.division}'"
        )
