"""Attach a flow cytometry FCS file to a lot's QC sample as the raw record of its flow results.

No value is taken from the file: it is the cytometer's own record of the acquisition behind the results
imported from the analysis software (or typed). It is checked as an export is: its sample name names this
lot, it was acquired after the lot was opened and not in the future, on a registered cytometer in
calibration, and it was never attached before. Its keywords (sample name, date, cytometer) are shown.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from manufacturing.core import clock
from manufacturing.core.errors import DomainError, OutOfSequence
from manufacturing.core.transitions import lock
from manufacturing.instruments.fcs import IDENTITY_KEYWORDS, FcsKeywords, read_fcs
from manufacturing.instruments.files import FCS_READER
from manufacturing.instruments.guards import (
    check_analysis_time,
    check_names_lot,
    check_names_no_other_lot,
    instrument_used,
    require_instrument,
)
from manufacturing.instruments.models import InstrumentFile
from manufacturing.instruments.operations import Upload, check_not_imported, keep_file
from manufacturing.instruments.rules import import_rules
from manufacturing.lots.guards import is_cancelled
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment, EquipmentKind
from manufacturing.processing.models import DoseUnit


@dataclass(frozen=True)
class PreparedFcs:
    """An FCS file read and checked: its keywords, when it was acquired (UTC), the cytometer (None until chosen)."""

    keywords: FcsKeywords
    acquired_at: datetime
    equipment: Equipment | None


def prepare_fcs(lot: Lot, upload: Upload, chosen: Equipment | None = None) -> PreparedFcs:
    """Read and check an FCS file for this lot; write nothing."""
    if is_cancelled(lot):
        raise OutOfSequence(f"Lot {lot.lot_number} is cancelled: no QC record is added to it.")
    if not upload.content:
        raise DomainError("The file is empty: export the FCS file again from the cytometer.")
    most = current_app.config["INSTRUMENT_FCS_MAX_BYTES"]
    if len(upload.content) > most:
        raise DomainError(f"The file is larger than {most // (1024 * 1024)} MB: export this sample's tube alone.")
    keywords = read_fcs(upload.content)
    labels = import_rules().sample_labels
    check_names_lot(keywords.sample_name or "", lot, labels)
    for name in IDENTITY_KEYWORDS:  # the others must not name another lot (TUBE NAME may say "NK panel")
        check_names_no_other_lot(keywords.keywords.get(name, ""), lot, labels, f"${name.upper()}")
    acquired = keywords.acquired
    acquired_at = clock.local_from_naive(acquired) if acquired is not None else None
    check_analysis_time(acquired_at, lot.opened_at, "the lot was opened")
    check_not_imported(upload, 0)
    cytometer = keywords.cytometer or "flow cytometer"
    equipment = instrument_used(keywords.serial_number, cytometer, EquipmentKind.FLOW_CYTOMETER, acquired_at, chosen)
    return PreparedFcs(keywords, acquired_at, equipment)


def attach_fcs(lot: Lot, dose: DoseUnit | None, upload: Upload, user, chosen: Equipment | None = None
               ) -> InstrumentFile:
    """Keep an FCS file as the raw record of a QC sample of the lot (a dose unit, or the lot's final product)."""
    lock(lot)
    if dose is not None and dose.lot_id != lot.id:
        raise DomainError("This dose unit is not of this lot.")
    prepared = prepare_fcs(lot, upload, chosen)
    keywords = prepared.keywords
    equipment = require_instrument(prepared.equipment, keywords.cytometer or "flow cytometer",
                                   EquipmentKind.FLOW_CYTOMETER)
    return keep_file(lot, upload, InstrumentFile(
        dose_unit_id=dose.id if dose else None, reader=f"{FCS_READER} {keywords.version}", sample_row=0,
        sample_id=(keywords.sample_name or "")[:120], instrument=(keywords.cytometer or str(equipment))[:120],
        serial_number=(keywords.serial_number or "")[:60] or None, analysed_at=prepared.acquired_at,
        equipment_id=equipment.id), user)

