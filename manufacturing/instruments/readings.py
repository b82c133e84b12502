"""Read an uploaded instrument export (file name and bytes) through allotropy into samples and quantities.

allotropy (and pandas with it) is imported when a file is read, never when the application starts.
"""

from __future__ import annotations

from datetime import tzinfo
from io import BytesIO

from flask import current_app, has_app_context

from manufacturing.core import clock
from manufacturing.core.errors import DomainError
from manufacturing.instruments import documents
from manufacturing.instruments.asm_units import UnknownUnit
from manufacturing.instruments.formats import READERS, ExportFormat, formats_for, supported_list
from manufacturing.instruments.populations import flow_populations
from manufacturing.instruments.results import InstrumentExport, SampleReading, UnreadableExport

__all__ = ["READERS", "InstrumentExport", "SampleReading", "UnreadableExport", "read_export"]

MAX_EXPORT_BYTES = 20 * 1024 * 1024
_REASON_LENGTH = 200


def _refuse_at_once(filename: str, content: bytes) -> tuple[ExportFormat, ...]:
    """The formats the file may be in; refuse an empty, oversized or foreign file before reading it."""
    if not content:
        raise UnreadableExport(f"{filename} is empty: export the results again.")
    if len(content) > MAX_EXPORT_BYTES:
        raise UnreadableExport(f"{filename} is larger than an instrument export ({MAX_EXPORT_BYTES // 2**20} MB).")
    candidates = formats_for(filename)
    if not candidates:
        raise UnreadableExport(f"This file is not an export this site reads: {supported_list()}.")
    return candidates


def _recognising(filename: str, content: bytes, candidates: tuple[ExportFormat, ...]) -> list[ExportFormat]:
    """The candidates whose converter recognises the file at a glance (allotropy's sniffing)."""
    from allotropy.named_file_contents import NamedFileContents
    from allotropy.parser_factory import Vendor

    def recognises(export_format: ExportFormat) -> bool:
        try:
            parser = type(Vendor[export_format.vendor].get_parser())
            return bool(parser.sniff(NamedFileContents(BytesIO(content), filename)))
        except Exception:  # a converter that cannot even look at the file does not recognise it
            return False

    return [export_format for export_format in candidates if recognises(export_format)]


def _reason(error: Exception | None) -> str:
    """allotropy's own words where it explains a refusal (its conversion errors), else none."""
    from allotropy.exceptions import AllotropeConversionError

    if not isinstance(error, AllotropeConversionError):
        return ""
    text = " ".join(str(error).split())
    return f" ({text[:_REASON_LENGTH]})" if text else ""


def _titles(formats: list[ExportFormat] | tuple[ExportFormat, ...]) -> str:
    """Formats as a sentence names them: "Vi-CELL BLU, NC-View or Cedex HiRes"."""
    titles = [export_format.title for export_format in formats]
    return titles[0] if len(titles) == 1 else f"{', '.join(titles[:-1])} or {titles[-1]}"


def _converted(filename: str, content: bytes, candidates: tuple[ExportFormat, ...],
               site_zone: tzinfo, locale: str | None) -> tuple[dict, ExportFormat]:
    """The ASM document of the file and the format that read it: the formats that recognise it tried first."""
    from allotropy.to_allotrope import allotrope_from_io

    recognising = _recognising(filename, content, candidates)
    reason = ""
    for export_format in recognising + [other for other in candidates if other not in recognising]:
        try:
            return allotrope_from_io(BytesIO(content), filename, export_format.vendor,
                                     default_timezone=site_zone, locale=locale), export_format
        except Exception as error:  # any converter failure means "not this format"
            if export_format in recognising and not reason:
                reason = _reason(error)  # said of a file the converter took for its own: worth showing
    named = recognising or candidates
    raise UnreadableExport(f"{filename} could not be read as a {_titles(named)} export{reason}: check that it "
                           "is the instrument's own export, complete, and not opened and saved in another program.")


def _samples(document: dict, export_format: ExportFormat, site_zone: tzinfo) -> tuple[SampleReading, ...]:
    if "cell counting aggregate document" in document:
        return tuple(documents.cell_counter_samples(document, export_format, site_zone))
    if "flow cytometry aggregate document" in document:
        return tuple(documents.flow_samples(document, export_format, site_zone, flow_populations()))
    raise UnreadableExport(f"{export_format.title} exports hold no results this site reads.")


def _site_locale() -> str | None:
    """The locale the instruments' computers write dates and numbers in (INSTRUMENT_LOCALE, e.g. "it_IT").

    None is allotropy's default: month before day (9/10/2021 is 10 September) and a decimal point.
    """
    return current_app.config.get("INSTRUMENT_LOCALE") if has_app_context() else None


def read_export(filename: str, content: bytes, locale: str | None = None) -> InstrumentExport:
    """Read an instrument export into its samples; refuse any file that is not one with UnreadableExport.

    Times the instrument wrote without a UTC offset are taken as the site's local time; dates and numbers
    are read in `locale`, else the site's INSTRUMENT_LOCALE.
    """
    filename = (filename or "").replace("\\", "/").rpartition("/")[2] or "The file"
    candidates = _refuse_at_once(filename, content)
    site_zone = clock.site_zone()
    document, export_format = _converted(filename, content, candidates, site_zone, locale or _site_locale())
    try:
        samples = _samples(document, export_format, site_zone)
    except DomainError:
        raise
    except UnknownUnit as unit:
        raise UnreadableExport(f"{filename}: a value is in a unit this site does not read ({unit}).") from None
    except Exception:  # an ASM document not shaped as its kind's: the export is incomplete, never a crash
        raise UnreadableExport(f"{filename} could not be read: its {export_format.title} results are "
                               "incomplete.") from None
    if not samples:
        raise UnreadableExport(f"{filename} holds no sample results.")
    return InstrumentExport(export_format.vendor, samples)
