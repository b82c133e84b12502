"""Reagent and consumable lots, and equipment with its calibration due date."""

import enum
from datetime import date, datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from manufacturing.core.audit import Audited
from manufacturing.core.signatures import Signable
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db


class MaterialKind(enum.Enum):
    CD3_REAGENT = "CD3 reagent"
    CD56_REAGENT = "CD56 reagent"
    TUBING_SET = "Tubing set"
    BUFFER = "Buffer"
    CULTURE_MEDIUM = "Culture medium"
    SERUM = "Serum / plasma"
    CYTOKINE = "Cytokine (IL-2)"
    ALBUMIN = "Human serum albumin"
    SALINE = "Saline"
    CRYOPROTECTANT = "Cryoprotectant"
    BAG = "Bag / container"

    @property
    def title(self) -> str:
        return self.value


class MaterialStatus(enum.Enum):
    QUARANTINE = "Quarantine"
    RELEASED = "Released"
    REJECTED = "Rejected"

    @property
    def title(self) -> str:
        return self.value


class EquipmentKind(enum.Enum):
    CELL_SEPARATOR = "Cell separator"
    INCUBATOR = "Incubator"
    BIOSAFETY_CABINET = "Biosafety cabinet"
    CENTRIFUGE = "Centrifuge"
    CELL_COUNTER = "Cell counter"
    FLOW_CYTOMETER = "Flow cytometer"
    FREEZER = "Controlled-rate freezer"
    BALANCE = "Balance"

    @property
    def title(self) -> str:
        return self.value


class MaterialLot(Signable, db.Model):
    """One supplier lot of a reagent or consumable, used only when released by QA and in date.

    QA's release or rejection signs the lot's identity (name, supplier lot, expiry); its status is workflow.
    """

    __tablename__ = "material_lots"
    __audit_entity__ = "material_lot"
    __signature_exclude__ = frozenset({"status", "status_reason"})
    __table_args__ = (UniqueConstraint("name", "supplier_lot"),
                      Index("ix_material_lots_kind_expiry_date_id", "kind", "expiry_date", "id"))  # the list

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[MaterialKind] = mapped_column(Enum(MaterialKind, native_enum=False, length=20))
    name: Mapped[str] = mapped_column(String(120))
    manufacturer: Mapped[str] = mapped_column(String(120))
    supplier_lot: Mapped[str] = mapped_column(String(60))
    expiry_date: Mapped[date]
    status: Mapped[MaterialStatus] = mapped_column(Enum(MaterialStatus, native_enum=False, length=12))
    status_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    def audit_scope(self) -> str | None:
        return f"material_lot:{self.id}"

    def __str__(self) -> str:
        return f"{self.name} lot {self.supplier_lot}"


class Equipment(Audited, db.Model):
    """A piece of equipment, usable only while its calibration is in date."""

    __tablename__ = "equipment"
    __audit_entity__ = "equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[EquipmentKind] = mapped_column(Enum(EquipmentKind, native_enum=False, length=20))
    location: Mapped[str] = mapped_column(String(120))
    calibration_due: Mapped[date]
    active: Mapped[bool] = mapped_column(default=True)
    # As the instrument writes it in its exports: an imported file names the equipment that made it.
    serial_number: Mapped[str | None] = mapped_column(String(60), unique=True)

    def audit_scope(self) -> str | None:
        return f"equipment:{self.id}"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
