"""Instrument exports kept as the raw record of imported values: the file, its SHA-256 under seal, what it said."""

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from manufacturing.core.audit import Audited
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db
from manufacturing.units import Quantity, QuantityType


class InstrumentFile(Audited, db.Model):
    """One sample of an export imported, the file as uploaded: never rewritten. Each sample (row) of a file is
    imported once: a run of several patients' samples serves each of their lots once."""

    __tablename__ = "instrument_files"
    __audit_entity__ = "instrument_file"
    __audit_exclude__ = frozenset({"content"})
    __table_args__ = (UniqueConstraint("sha256", "sample_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("process_steps.id"), index=True)
    dose_unit_id: Mapped[int | None] = mapped_column(ForeignKey("dose_units.id"), index=True)  # its QC sample
    filename: Mapped[str] = mapped_column(String(200))
    reader: Mapped[str] = mapped_column(String(60))  # the format it was read as
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    sample_row: Mapped[int]  # which sample of the file, from 0
    size: Mapped[int]
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    key_id: Mapped[str] = mapped_column(String(16))
    mac: Mapped[str] = mapped_column(String(64))
    sample_id: Mapped[str] = mapped_column(String(120))
    instrument: Mapped[str] = mapped_column(String(120))
    serial_number: Mapped[str | None] = mapped_column(String(60))
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    analysed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    values: Mapped[list["InstrumentValue"]] = relationship(
        back_populates="file", cascade="all, delete-orphan", order_by="InstrumentValue.id")

    def audit_scope(self) -> str | None:
        return f"lot:{self.lot_id}"


class InstrumentValue(Audited, db.Model):
    """A value taken from a file: where it went (a step's field or a QC result) and the value as read."""

    __tablename__ = "instrument_values"
    __audit_entity__ = "instrument_value"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("instrument_files.id"), index=True)
    measure: Mapped[str] = mapped_column(String(40))  # what the instrument measured (total_concentration, ...)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("process_steps.id"), index=True)
    field_key: Mapped[str | None] = mapped_column(String(40))
    qc_result_id: Mapped[int | None] = mapped_column(ForeignKey("qc_results.id"), index=True)
    quantity: Mapped[Quantity] = mapped_column(QuantityType)

    file: Mapped[InstrumentFile] = relationship(back_populates="values")

    def audit_scope(self) -> str | None:
        return f"lot:{self.file.lot_id}" if self.file is not None else None
