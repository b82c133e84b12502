"""Executed process steps: entered values with units, materials and equipment used, dose units made."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from manufacturing.core.signatures import Signable, SignedPart
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.materials.models import Equipment, MaterialLot
from manufacturing.patients.models import BodyWeight, InfusionOrder
from manufacturing.units import Quantity, QuantityType


class StepKind(enum.Enum):
    """The steps of the process, in their permitted order."""

    APHERESIS_RECEIPT = "Apheresis receipt"
    CD3_DEPLETION = "CD3 depletion"
    CD56_SELECTION = "CD56 selection"
    CULTURE_DAY0 = "Culture day 0"
    CULTURE_DAY = "Culture day"
    HARVEST = "Harvest"
    DOSE_PREPARATION = "Dose preparation"

    @property
    def title(self) -> str:
        return self.value

    @property
    def slug(self) -> str:
        return self.name.lower().replace("_", "-")


class StepStatus(enum.Enum):
    PERFORMED = "Awaiting verification"
    VERIFIED = "Verified"

    @property
    def title(self) -> str:
        return self.value


class ProcessStep(Signable, db.Model):
    """One executed step of a lot, signed 'performed' by one technician and 'verified' by another."""

    __tablename__ = "process_steps"
    __table_args__ = (Index("ix_process_steps_status_performed_at", "status", "performed_at"),  # awaiting verification
                      Index("ix_process_steps_lot_id_kind_performed_at", "lot_id", "kind", "performed_at"))  # culture
    __audit_entity__ = "step"
    __signature_exclude__ = frozenset({"status", "verified_by_id", "verified_at", "revision"})

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"))  # indexed first in (lot_id, kind, performed_at)
    kind: Mapped[StepKind] = mapped_column(Enum(StepKind, native_enum=False, length=20))
    day_number: Mapped[int | None]
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    performed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    observations: Mapped[str | None] = mapped_column(Text)
    status: Mapped[StepStatus] = mapped_column(Enum(StepStatus, native_enum=False, length=12))
    # Counts the versions of the record: a correction makes a new version, signed anew (performed, verified).
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lot: Mapped[Lot] = relationship()
    values: Mapped[list["StepValue"]] = relationship(
        back_populates="step", cascade="all, delete-orphan", order_by="StepValue.id"
    )
    materials: Mapped[list["StepMaterial"]] = relationship(
        back_populates="step", cascade="all, delete-orphan", order_by="StepMaterial.id"
    )
    equipment: Mapped[list["StepEquipment"]] = relationship(
        back_populates="step", cascade="all, delete-orphan", order_by="StepEquipment.id"
    )
    dose_units: Mapped[list["DoseUnit"]] = relationship(back_populates="step", order_by="DoseUnit.division_code")

    def audit_scope(self) -> str | None:
        return f"lot:{self.lot_id}"

    def signable_title(self) -> str:
        return f"{self.kind.title.lower()} record"

    def signature_version(self) -> int:
        return self.revision

    def signed_content(self) -> dict:
        """Cover the step's own fields and every value, material and equipment entered with it."""
        content = super().signed_content()
        content["values"] = sorted((part.signed_part() for part in self.values), key=lambda v: v["key"])
        content["materials"] = sorted((part.signed_part() for part in self.materials), key=repr)
        content["equipment"] = sorted((part.signed_part() for part in self.equipment), key=repr)
        if self.dose_units:
            content["dose_units"] = [part.signed_part() for part in self.dose_units]
        return content

    def value(self, key: str) -> "StepValue | None":
        return next((value for value in self.values if value.key == key), None)


class _StepPart(SignedPart):
    """A row that belongs to a step: its signatures cover it, its history is the lot's."""

    __signature_exclude__ = frozenset({"step_id"})

    def signature_owner(self) -> ProcessStep:
        return self.step

    def audit_scope(self) -> str | None:
        return f"lot:{self.step.lot_id}" if self.step is not None else None


class StepValue(_StepPart, db.Model):
    """One entered value of a step: the quantity (or text) and the text exactly as typed."""

    __tablename__ = "step_values"
    __audit_entity__ = "step_value"
    __table_args__ = (UniqueConstraint("step_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("process_steps.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[Quantity | None] = mapped_column(QuantityType)
    text: Mapped[str | None] = mapped_column(String(200))
    entered: Mapped[str] = mapped_column(String(200))

    step: Mapped[ProcessStep] = relationship(back_populates="values")


class StepMaterial(_StepPart, db.Model):
    """A material lot used in a step, in a named role (e.g. 'CD3 reagent')."""

    __tablename__ = "step_materials"
    __audit_entity__ = "step_material"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("process_steps.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    material_lot_id: Mapped[int] = mapped_column(ForeignKey("material_lots.id"))

    step: Mapped[ProcessStep] = relationship(back_populates="materials")
    material_lot: Mapped[MaterialLot] = relationship()


class StepEquipment(_StepPart, db.Model):
    """A piece of equipment used in a step, in a named role (e.g. 'cell separator')."""

    __tablename__ = "step_equipment"
    __audit_entity__ = "step_equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("process_steps.id"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))

    step: Mapped[ProcessStep] = relationship(back_populates="equipment")
    item: Mapped[Equipment] = relationship()


class DoseKind(enum.Enum):
    FRESH = "Fresh"
    CRYOPRESERVED = "Cryopreserved"

    @property
    def title(self) -> str:
        return self.value


class DoseState(enum.Enum):
    """Where a dose unit stands: quarantine until QA releases it, then issue and administration.

    A failing result after release puts a unit not yet administered on hold until QA decides.
    """

    QUARANTINE = "Quarantine"
    RELEASED_INTERIM = "Released (interim)"
    RELEASED = "Released"
    ISSUED = "Issued"
    ADMINISTERED = "Administered"
    ON_HOLD = "On hold"
    REJECTED = "Rejected"
    DISCARDED = "Discarded"
    RETURNED = "Returned"

    @property
    def title(self) -> str:
        return self.value


class DoseUnit(_StepPart, db.Model):
    """One bag made at dose preparation for one infusion order, numbered by its ISBT 128 division."""

    __tablename__ = "dose_units"
    __audit_entity__ = "dose_unit"
    __signature_exclude__ = frozenset({"step_id", "state", "infusion_order_id"})
    __table_args__ = (UniqueConstraint("lot_id", "division_code"),
                      Index("ix_dose_units_state_expiry_at_id", "state", "expiry_at", "id"),  # the release queue
                      Index("ix_dose_units_state_id", "state", "id"))  # by state; the discarded, newest first

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("process_steps.id"), index=True)
    division_code: Mapped[str] = mapped_column(String(2))
    infusion_number: Mapped[int]
    infusion_order_id: Mapped[int | None] = mapped_column(ForeignKey("infusion_orders.id"))
    kind: Mapped[DoseKind] = mapped_column(Enum(DoseKind, native_enum=False, length=14))
    target_dose_per_kg: Mapped[Quantity] = mapped_column(QuantityType)
    body_weight_id: Mapped[int] = mapped_column(ForeignKey("body_weights.id"))
    cells: Mapped[Quantity] = mapped_column(QuantityType)
    volume_drawn: Mapped[Quantity] = mapped_column(QuantityType)
    final_volume: Mapped[Quantity] = mapped_column(QuantityType)
    expiry_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[DoseState] = mapped_column(Enum(DoseState, native_enum=False, length=20))

    lot: Mapped[Lot] = relationship()
    step: Mapped[ProcessStep] = relationship(back_populates="dose_units")
    order: Mapped[InfusionOrder | None] = relationship()
    weight_record: Mapped[BodyWeight] = relationship()

    @property
    def body_weight(self) -> Quantity:
        return self.weight_record.weight

    @property
    def concentration(self) -> Quantity:
        return (self.cells / self.final_volume).to("cell / milliliter")

    def audit_scope(self) -> str | None:
        return f"lot:{self.lot_id}"


class OfDoseUnit:
    """Mixin for a record about one dose unit (release, issue, bedside check, label): its history is its lot's."""

    dose_unit_id: int

    def audit_scope(self) -> str | None:
        dose = db.session.get(DoseUnit, self.dose_unit_id) if self.dose_unit_id is not None else None
        return f"lot:{dose.lot_id}" if dose is not None else None
