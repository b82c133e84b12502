"""Import an instrument export onto a step or as QC results, the file kept as the raw record of every value.

The file is read and checked (it names this lot's sample, a registered instrument in calibration, a sensible
time, and was never imported before) before anything is written; then the step or the results are recorded
by their own operations, with their own guards, signatures and audit trail, and the file is stored, sealed,
with a link from each value taken from it. A refusal at any point leaves nothing stored.
"""

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from manufacturing.core import clock, seals
from manufacturing.core.errors import DomainError
from manufacturing.core.keyring import keyring
from manufacturing.core.transitions import lock
from manufacturing.extensions import db
from manufacturing.instruments.guards import (
    check_analysis_time,
    check_names_lot,
    instrument_used,
    require_instrument,
)
from manufacturing.instruments.models import InstrumentFile, InstrumentValue
from manufacturing.instruments.readings import InstrumentExport, SampleReading, read_export
from manufacturing.instruments.rules import import_rules
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment, EquipmentKind
from manufacturing.processing.entries import StepInput
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import DoseUnit, ProcessStep, StepKind
from manufacturing.processing.operations import record_step
from manufacturing.quality import qc
from manufacturing.quality.models import QcResult
from manufacturing.units import Quantity, lab_unit

COUNTING = frozenset({"total_concentration", "viable_concentration", "viability"})


class ChooseSample(DomainError):
    """The file holds several samples and none was chosen; the export read is kept for the question."""

    def __init__(self, message: str, export: InstrumentExport):
        super().__init__(message)
        self.export = export


@dataclass(frozen=True)
class Upload:
    """A file as the technician gave it."""

    filename: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Taken:
    """A value of the file and where it goes: a step's field (entered as `entered`) or a QC test."""

    measure: str
    target: str
    quantity: Quantity
    entered: str


@dataclass(frozen=True)
class Prepared:
    """What a file gives, checked: its sample, the instrument that made it, the values taken from it."""

    export: InstrumentExport
    row: int
    sample: SampleReading
    equipment: Equipment | None  # None while a file that gives no serial number waits for its instrument
    equipment_kind: EquipmentKind
    taken: tuple[Taken, ...]


def read_upload(upload: Upload) -> InstrumentExport:
    """Read an export, refusing an empty or oversized file before any reader sees it."""
    if not upload.content:
        raise DomainError("The file is empty: export the results again from the instrument.")
    most = current_app.config["INSTRUMENT_EXPORT_MAX_BYTES"]
    if len(upload.content) > most:
        raise DomainError(f"The file is larger than {most // 1024} KB: it is not an instrument export "
                          "this site reads.")
    lines = current_app.config["INSTRUMENT_EXPORT_MAX_LINES"]
    if upload.content.count(b"\n") > lines:
        raise DomainError(f"The file has more than {lines} lines: it is not the export of one run.")
    return read_export(upload.filename, upload.content)


def sample_row(export: InstrumentExport, row: int | None) -> int:
    """The row of the sample chosen in the file; the only one when it holds one."""
    if row is None:
        if len(export.samples) == 1:
            return 0
        raise ChooseSample(f"This file holds {len(export.samples)} samples: choose the row of this lot's sample.",
                           export)
    if not 0 <= row < len(export.samples):
        raise DomainError("The file has no such row: choose one of its samples.")
    return row


def check_not_imported(upload: Upload, row: int) -> None:
    """Each sample of a file is imported once (a run of several lots' samples serves each lot once)."""
    earlier = db.session.scalar(select(InstrumentFile).where(InstrumentFile.sha256 == upload.sha256,
                                                             InstrumentFile.sample_row == row))
    if earlier is not None:
        raise DomainError(f"This sample of the file was already imported on "
                          f"{clock.format_local(earlier.imported_at)}: a sample is imported once.")


def _entered(quantity: Quantity, unit: str) -> str:
    """The value as the form would take it typed, in the field's unit (e.g. "2350000.0 cells/mL")."""
    return f"{float(quantity.m_as(lab_unit(unit)))!r} {unit}"


def _step_taken(kind: StepKind, sample: SampleReading) -> tuple[Taken, ...]:
    fields = {field.key: field for field in definition(kind).fields}
    mapping = import_rules().step_fields.get(kind.slug, {})
    taken = tuple(Taken(measure, key, sample.values[measure], _entered(sample.values[measure], fields[key].unit))
                  for measure, key in mapping.items() if measure in sample.values and key in fields)
    if not taken:
        raise DomainError(f"The file holds no value the {kind.title.lower()} records: is it the right export?")
    return taken


def _equipment_kind(sample: SampleReading) -> EquipmentKind:
    return EquipmentKind.CELL_COUNTER if COUNTING & set(sample.values) else EquipmentKind.FLOW_CYTOMETER


def _checked(lot: Lot, upload: Upload, row: int | None) -> tuple[InstrumentExport, int, SampleReading]:
    export = read_upload(upload)
    row = sample_row(export, row)
    sample = export.samples[row]
    check_names_lot(sample.sample_id, lot, import_rules().sample_labels)
    check_not_imported(upload, row)
    return export, row, sample


def proposed_start(sample: SampleReading) -> datetime | None:
    """The time a step read from this sample is proposed to have begun: the minute of the analysis."""
    return sample.analysed_at.replace(second=0, microsecond=0) if sample.analysed_at is not None else None


def prepare_step(lot: Lot, kind: StepKind, upload: Upload, row: int | None, started_at: datetime | None,
                 chosen: dict[EquipmentKind, Equipment] | None = None) -> Prepared:
    """Read and check a file for a step that began at `started_at` (by default, as proposed); write nothing.

    `chosen`: the instruments chosen on the form, by kind, for a file that does not give its serial number."""
    export, row, sample = _checked(lot, upload, row)
    started_at = clock.as_utc(started_at) if started_at is not None else proposed_start(sample)
    check_analysis_time(sample.analysed_at, started_at, f"the {kind.title.lower()} began",
                        import_rules().analysis_within)
    equipment_kind = _equipment_kind(sample)
    equipment = instrument_used(sample.serial_number, sample.instrument, equipment_kind, sample.analysed_at,
                                (chosen or {}).get(equipment_kind))
    return Prepared(export, row, sample, equipment, equipment_kind, _step_taken(kind, sample))


def _qc_taken(sample: SampleReading) -> tuple[Taken, ...]:
    taken = tuple(Taken(measure, test_key, sample.values[measure], _entered(sample.values[measure], "%"))
                  for measure, test_key in import_rules().qc_tests.items() if measure in sample.values)
    if not taken:
        raise DomainError("The file holds no population this site's QC tests read (NK, CD3+, CD19+): "
                          "check the gate names of the export.")
    return taken


def prepare_results(lot: Lot, upload: Upload, row: int | None, chosen: Equipment | None = None) -> Prepared:
    """Read and check a flow export for the QC results of a lot; write nothing.

    `chosen`: the cytometer chosen on the page, for an export that does not give its serial number."""
    export, row, sample = _checked(lot, upload, row)
    check_analysis_time(sample.analysed_at, lot.opened_at, "the lot was opened")
    equipment = instrument_used(sample.serial_number, sample.instrument, EquipmentKind.FLOW_CYTOMETER,
                                sample.analysed_at, chosen)
    return Prepared(export, row, sample, equipment, EquipmentKind.FLOW_CYTOMETER, _qc_taken(sample))


def chosen_instruments(kind: StepKind, given: StepInput) -> dict[EquipmentKind, Equipment]:
    """The counter and cytometer chosen on the step's form, by kind."""
    chosen = {}
    for use in definition(kind).equipment:
        identifier = row_id(given.equipment.get(use.role))
        if use.kind in (EquipmentKind.CELL_COUNTER, EquipmentKind.FLOW_CYTOMETER) and identifier:
            equipment = db.session.get(Equipment, identifier)
            if equipment is not None:
                chosen[use.kind] = equipment
    return chosen


def row_id(given: object) -> int | None:
    """A row id as a form posts it (ASCII digits, within the database's integers), else None."""
    text = str(given or "")
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**31 else None


def import_step(lot: Lot, kind: StepKind, given: StepInput, upload: Upload, row: int | None, user, password: str,
                username: str) -> ProcessStep:
    """Record a step with the values of an export (they replace what was typed for their fields), signed."""
    lock(lot)
    prepared = prepare_step(lot, kind, upload, row, given.performed_at, chosen_instruments(kind, given))
    equipment = require_instrument(prepared.equipment, prepared.sample.instrument, prepared.equipment_kind)
    values = dict(given.values) | {taken.target: taken.entered for taken in prepared.taken}
    uses = dict(given.equipment) | {use.role: equipment.id for use in definition(kind).equipment
                                    if use.kind == equipment.kind}
    step = record_step(lot, kind, replace(given, values=values, equipment=uses), user, password, username)
    _keep(lot, step, upload, prepared, equipment, user, [InstrumentValue(measure=taken.measure, step_id=step.id,
                                                              field_key=taken.target, quantity=taken.quantity)
                                              for taken in prepared.taken])
    return step


def import_results(lot: Lot, dose: DoseUnit | None, upload: Upload, row: int | None, user, password: str,
                   username: str, chosen: Equipment | None = None) -> list[QcResult]:
    """Record the QC results a flow export gives (one per test), each signed, judged as if typed."""
    lock(lot)
    prepared = prepare_results(lot, upload, row, chosen)
    equipment = require_instrument(prepared.equipment, prepared.sample.instrument, EquipmentKind.FLOW_CYTOMETER)
    results = [qc.record_result(lot, dose, taken.target, taken.entered, prepared.sample.analysed_at, user, password,
                                username) for taken in prepared.taken]
    db.session.flush()
    _keep(lot, None, upload, prepared, equipment, user, [
        InstrumentValue(measure=taken.measure, qc_result_id=result.id, quantity=taken.quantity)
        for taken, result in zip(prepared.taken, results, strict=True)], dose)
    return results


def _keep(lot: Lot, step: ProcessStep | None, upload: Upload, prepared: Prepared, equipment: Equipment, user,
          values: list[InstrumentValue], dose: DoseUnit | None = None) -> InstrumentFile:
    sample = prepared.sample
    return keep_file(lot, upload, InstrumentFile(
        step_id=step.id if step else None, dose_unit_id=dose.id if dose else None, reader=prepared.export.reader,
        sample_row=prepared.row, sample_id=sample.sample_id[:120], instrument=sample.instrument[:120],
        serial_number=(sample.serial_number or "")[:60] or None, analysed_at=sample.analysed_at,
        equipment_id=equipment.id, values=values), user)


def keep_file(lot: Lot, upload: Upload, record: InstrumentFile, user) -> InstrumentFile:
    """Store the file, sealed, as `record` describes it; the same sample of a file stored twice is refused."""
    record.lot_id, record.filename, record.sha256 = lot.id, stored_name(upload.filename), upload.sha256
    record.size, record.content, record.imported_at = len(upload.content), upload.content, clock.now()
    record.imported_by_id, record.key_id = user.id, keyring().current_id
    record.mac = seals.file_mac(record)
    db.session.add(record)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise DomainError("This sample of the file was imported by someone else a moment ago: a sample is "
                          "imported once.") from None
    return record


def stored_name(filename: str) -> str:
    """The file's own name, without any folder, in printable characters."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(character for character in name if character.isprintable()).strip(" .")
    return name[-200:] or "export"
