"""The keywords of an FCS 3.0/3.1 data file (flowio): which sample, when, on which cytometer, how many events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from io import BytesIO

from manufacturing.core.text import text_problem
from manufacturing.instruments.results import UnreadableExport

_SAMPLE_KEYWORDS = ("fil", "tube name", "smno")  # flowio gives keywords in lower case, without "$"
IDENTITY_KEYWORDS = ("fil", "tube name", "smno", "src")  # every keyword that may name whose sample it is
_READ_KEYWORDS = (*IDENTITY_KEYWORDS, "date", "btim", "cyt", "cytsn")
_VERSIONS = ("3.0", "3.1")


@dataclass(frozen=True)
class FcsKeywords:
    sample_name: str | None  # $FIL, else TUBE NAME, else $SMNO
    acquired_on: date | None  # $DATE
    acquired_at: time | None  # $BTIM, the instrument's local time
    cytometer: str | None  # $CYT
    serial_number: str | None  # $CYTSN
    event_count: int  # $TOT
    version: str
    keywords: dict[str, str]  # every keyword of the TEXT segment, as flowio names them

    @property
    def acquired(self) -> datetime | None:
        """Date and time of acquisition, naive: the cytometer's local clock (None before 1900: no real date)."""
        if self.acquired_on is None or self.acquired_on.year < 1900:
            return None
        return datetime.combine(self.acquired_on, self.acquired_at or time())


def _text(keywords: dict[str, str], name: str) -> str | None:
    value = str(keywords.get(name, "")).strip()
    return value or None


def _date(text: str | None) -> date | None:
    """$DATE as FCS writes it (dd-mmm-yyyy), or ISO where a cytometer writes that."""
    for pattern in ("%d-%b-%Y", "%Y-%m-%d", "%d-%b-%y"):
        try:
            return datetime.strptime(text or "", pattern).date()
        except ValueError:
            continue
    return None


def _time(text: str | None) -> time | None:
    """$BTIM: hh:mm:ss, with hundredths (.cc) in FCS 3.1 or sixtieths (:tt) in 3.0 dropped."""
    parts = (text or "").split(".")[0].split(":")[:3]
    try:
        return time(*(int(part) for part in parts)) if len(parts) >= 2 else None
    except ValueError:
        return None


def read_fcs(content: bytes) -> FcsKeywords:
    """Read the keywords of an FCS 3.0 or 3.1 file; refuse any other file with UnreadableExport."""
    import flowio

    if not content.startswith(b"FCS"):
        raise UnreadableExport("This file is not an FCS data file.")
    try:
        data = flowio.FlowData(BytesIO(content), only_text=True)
        keywords = {str(key): str(value) for key, value in data.text.items()}
        version, event_count = str(data.version), int(keywords["tot"])
    except Exception:  # flowio refuses a damaged file in many ways
        raise UnreadableExport("This FCS file is damaged or incomplete: export it again.") from None
    if version not in _VERSIONS:
        raise UnreadableExport(f"This is an FCS {version} file; the site reads FCS 3.0 and 3.1.")
    for name in _READ_KEYWORDS:
        if problem := text_problem(str(keywords.get(name, ""))):
            raise UnreadableExport(f"The file's keyword ${name.upper()} {problem}: export the file again.")
    sample = next((value for name in _SAMPLE_KEYWORDS if (value := _text(keywords, name))), None)
    return FcsKeywords(sample, _date(_text(keywords, "date")), _time(_text(keywords, "btim")),
                       _text(keywords, "cyt"), _text(keywords, "cytsn"), event_count, version, keywords)
