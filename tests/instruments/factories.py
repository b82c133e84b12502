"""Exports made by a test: samples with the values and identity it says, keyed by made-up bytes."""

from manufacturing.instruments import operations
from manufacturing.instruments.readings import InstrumentExport, SampleReading
from manufacturing.processing.models import StepKind
from manufacturing.units import Q_
from tests.processing.factories import SCHEDULE

COUNTER_SERIAL, CYTOMETER_SERIAL = "VCB-0042", "FD-77"
COUNTS = {"total_concentration": Q_(2.5e6, "cell / milliliter"), "viable_concentration": Q_(2.3e6, "cell / milliliter"),
          "viability": Q_(92.0, "percent")}
FLOW = {"nk_fraction": Q_(96.5, "percent"), "cd3_fraction": Q_(0.4, "percent"), "cd19_fraction": Q_(0.1, "percent")}


def sample(sample_id, at, values=COUNTS, serial=COUNTER_SERIAL, instrument="Beckman Coulter Vi-CELL BLU"):
    return SampleReading(sample_id, at, instrument, "Vi-CELL BLU", serial, "1.2", dict(values))


def export_file(exports, *samples, content: bytes | None = None) -> operations.Upload:
    """An upload whose bytes the `exports` fixture reads as these samples."""
    content = content or f"export {len(exports)}".encode()
    exports[content] = InstrumentExport("BECKMAN_VI_CELL_BLU", tuple(samples))
    return operations.Upload("count.csv", content)


def day5(bench):
    return bench.at(SCHEDULE[StepKind.CULTURE_DAY0] + 24 * 5)


def carried(upload: operations.Upload, row: int | str = "") -> dict[str, str]:
    """The hidden fields a preview page carries the file in, sealed as the server seals them."""
    import base64

    from manufacturing.instruments.forms import file_seal

    return {"export_data": base64.b64encode(upload.content).decode(), "export_name": upload.filename,
            "export_row": str(row), "export_seal": file_seal(upload)}
