"""Certificate of analysis data for a dose unit: plain values, stored with QA's signed decision."""

from dataclasses import asdict, dataclass, field

from manufacturing.core import clock
from manufacturing.lots.din import ProductCode
from manufacturing.quality.results import ResultLine, result_line
from manufacturing.units import format_quantity


@dataclass
class Certificate:
    """What the certificate of analysis states; every value already written as the lab reads it."""

    kind: str
    product: str
    product_code: str
    lot_number: str
    din: str
    subject_id: str
    division: str
    infusion: int
    dose_kind: str
    dose_per_kg: str
    total_cells: str
    volume: str
    concentration: str
    expiry: str
    specification: str
    lines: list[ResultLine] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    exceptional: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Certificate":
        lines = [ResultLine(**line) for line in data.pop("lines", [])]
        return cls(**data, lines=lines)


def certificate_data(found, decision) -> Certificate:
    """Write the certificate of a dose from the review QA signed it on."""
    dose, lot, spec = found.dose, found.lot, found.record.spec
    kind = {"RELEASED_INTERIM": "interim", "RELEASED_FINAL": "final"}.get(decision.name, "rejected")
    return Certificate(
        kind=kind, product=spec.product_name,
        product_code=ProductCode(spec.isbt128_product_code, division=dose.division_code).code,
        lot_number=lot.lot_number, din=lot.din_record.keyboard, subject_id=lot.subject.subject_code,
        division=dose.division_code, infusion=dose.infusion_number, dose_kind=dose.kind.title,
        dose_per_kg=format_quantity(dose.target_dose_per_kg), total_cells=format_quantity(dose.cells),
        volume=format_quantity(dose.final_volume), concentration=format_quantity(dose.concentration),
        expiry=clock.format_local(dose.expiry_at), specification=f"{spec.id} version {spec.version}",
        lines=[result_line(line) for line in found.lines],
        pending=[line.criterion.name for line in found.pending],
        exceptional=bool(found.failing),
    )
