"""What an instrument export says: its samples, each with its measures as quantities."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from manufacturing.core.errors import DomainError
from manufacturing.units import Quantity

# Measures by generic key: cell counters give the first three, flow cytometry the others.
MEASURES = {
    "total_concentration": "Total cells",
    "viable_concentration": "Viable cells",
    "viability": "Viability",
    "nk_fraction": "NK cells (CD56+CD3-)",
    "cd3_fraction": "T cells (CD3+)",
    "cd19_fraction": "B cells (CD19+)",
}


class UnreadableExport(DomainError):
    """An uploaded file is not an instrument export this site reads."""


@dataclass(frozen=True)
class SampleReading:
    sample_id: str  # as the instrument wrote it
    analysed_at: datetime  # UTC, timezone-aware
    instrument: str  # human name, e.g. "Beckman Coulter Vi-CELL BLU"
    model: str | None
    serial_number: str | None
    software: str | None
    values: dict[str, Quantity] = field(default_factory=dict)  # by key of MEASURES
    batch_id: str | None = None  # ASM's batch identifier: FACSDiva's specimen, Cedex's reactor


@dataclass(frozen=True)
class InstrumentExport:
    reader: str  # allotropy's Vendor name, e.g. "BECKMAN_VI_CELL_BLU"
    samples: tuple[SampleReading, ...]

    def sample(self, sample_id: str) -> SampleReading | None:
        """The reading of a sample, by the ID the instrument wrote."""
        return next((reading for reading in self.samples if reading.sample_id == sample_id), None)
