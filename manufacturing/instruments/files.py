"""Imported files as stored: served only while intact, checked by `audit verify`, listed with their values."""

import io

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from manufacturing.core import seals
from manufacturing.core.findings import Finding, replaced_content
from manufacturing.extensions import db
from manufacturing.instruments.models import InstrumentFile, InstrumentValue
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import ProcessStep
from manufacturing.units import format_quantity

REPLACED = "REPLACED instrument file"
FCS_READER = "FCS"  # the reader of an FCS file kept as raw flow data, before its version ("FCS 3.1")


def intact_content(record: InstrumentFile) -> bytes | None:
    """The stored bytes, if they still have the SHA-256 sealed at import; else None."""
    return record.content if seals.bytes_intact(record) and seals.file_sealed(record) else None


def as_stream(content: bytes) -> io.BytesIO:
    return io.BytesIO(content)


def files_of_lot(lot_id: int) -> list[InstrumentFile]:
    """The lot's imported files, oldest first, with the values taken from each (one query for each kind)."""
    query = select(InstrumentFile).where(InstrumentFile.lot_id == lot_id).options(selectinload(InstrumentFile.values))
    return list(db.session.scalars(query.order_by(InstrumentFile.imported_at, InstrumentFile.id)))


def raw_flow_files(lot_id: int) -> list[InstrumentFile]:
    """The FCS files kept as the raw record of the lot's flow results, oldest first."""
    return [record for record in files_of_lot(lot_id) if record.reader.startswith(FCS_READER)]


def files_by_step(lot_id: int) -> dict[int, list[InstrumentFile]]:
    found: dict[int, list[InstrumentFile]] = {}
    for record in files_of_lot(lot_id):
        if record.step_id is not None:
            found.setdefault(record.step_id, []).append(record)
    return found


def replaced_files(session: Session) -> list[Finding]:
    """Every imported file whose bytes, SHA-256 or record no longer match what was sealed at import."""
    return replaced_content(session, InstrumentFile, REPLACED, lambda record: (
        f"instrument file {record.id} ({record.filename})"), seals.file_sealed, "import")


def taken(record: InstrumentFile) -> list[str]:
    """Each value taken from the file as read, and where a correction of the step changed it since, to what."""
    lines = []
    for value in record.values:
        line = f"{_label(value)} {format_quantity(value.quantity)}"
        now = _now_recorded(value)
        if now is not False:
            line += f" as read, corrected since to {format_quantity(now) if now is not None else 'nothing'}"
        lines.append(line)
    return lines


def _label(value: InstrumentValue) -> str:
    """The field's label as the step's form shows it, or what the instrument measured (for a QC result)."""
    step = db.session.get(ProcessStep, value.step_id) if value.step_id is not None else None
    fields = {field.key: field.label for field in definition(step.kind).fields} if step is not None else {}
    return fields.get(value.field_key) or value.measure.replace("_", " ")


def _now_recorded(value: InstrumentValue):
    """The step's value now where a correction changed it from the file's; False where it is still the file's."""
    if value.step_id is None or value.field_key is None:
        return False
    step = db.session.get(ProcessStep, value.step_id)
    current = step.value(value.field_key) if step is not None else None
    quantity = current.quantity if current is not None else None
    return False if quantity == value.quantity else quantity
