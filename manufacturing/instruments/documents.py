"""Samples of an ASM document: cell counting and flow cytometry, read into SampleReading."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo

from manufacturing.instruments.asm_units import asm_quantity
from manufacturing.instruments.formats import ExportFormat
from manufacturing.instruments.populations import Population
from manufacturing.instruments.results import SampleReading, UnreadableExport
from manufacturing.units import Q_, Quantity

CELL_COUNTER_MEASURES = {
    "total_concentration": "total cell density (cell counter)",
    "viable_concentration": "viable cell density (cell counter)",
    "viability": "viability (cell counter)",
}
_NOT_GIVEN = {"", "n/a", "na", "nan", "none"}  # pandas gives "nan" for an empty cell
_SERIAL_PREFIX = re.compile(r"^\s*s/?n(?:\s*[:#]\s*|\s+)", re.IGNORECASE)  # "s/n 9000...", "S/N: 9000..."
_NO_TIME = "1970-01-01"  # what allotropy writes where the instrument wrote no time


def _given(text: object) -> str | None:
    """A text field of ASM, None where it is missing or "N/A"."""
    if text is None or str(text).strip().lower() in _NOT_GIVEN:
        return None
    return str(text).strip()


def _moment(text: str | None, site_zone: tzinfo, sample_id: str) -> datetime:
    """An ASM time in UTC; a time without offset is taken as the site's local time."""
    if not text or text.startswith(_NO_TIME):
        raise UnreadableExport(f"Sample {sample_id} has no time of analysis in the file: export it again "
                               "with the date and time.")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=site_zone)
    return moment.astimezone(UTC)


def _instrument(aggregate: dict, export_format: ExportFormat) -> dict:
    """The instrument fields every sample of the file shares."""
    device, system = aggregate.get("device system document", {}), aggregate.get("data system document", {})
    serial = _given(device.get("equipment serial number"))
    software = " ".join(filter(None, (_given(system.get("software name")), _given(system.get("software version")))))
    return {
        "instrument": export_format.instrument,
        "model": _given(device.get("model number")),
        "serial_number": _SERIAL_PREFIX.sub("", serial) if serial else None,
        "software": software or None,
    }


def _sample(measurement: dict, export_format: ExportFormat) -> dict:
    """The sample ID (where the format keeps it) and batch ID of a measurement."""
    sample = measurement.get("sample document", {})
    fields = {**sample.get("custom information document", {}), **sample}
    sample_id = next(filter(None, (_given(fields.get(name)) for name in export_format.sample_id_fields)), None)
    if sample_id is None:
        raise UnreadableExport("A sample of the file has no sample ID.")
    return {"sample_id": sample_id, "batch_id": _given(sample.get("batch identifier"))}


def _counter_values(measurement: dict) -> dict[str, Quantity]:
    """Concentrations and viability of the first processed result that has them."""
    for processed in measurement.get("processed data aggregate document", {}).get("processed data document", []):
        values = {key: asm_quantity(processed[field]) for key, field in CELL_COUNTER_MEASURES.items()
                  if field in processed}
        values = {key: value for key, value in values.items() if value is not None}
        if values:
            return values
    return {}


def cell_counter_samples(document: dict, export_format: ExportFormat, site_zone: tzinfo) -> Iterator[SampleReading]:
    """The samples of a cell counting document."""
    aggregate = document["cell counting aggregate document"]
    shared = _instrument(aggregate, export_format)
    for counting in aggregate.get("cell counting document", []):
        for measurement in counting["measurement aggregate document"]["measurement document"]:
            sample = _sample(measurement, export_format)
            moment = _moment(measurement.get("measurement time"), site_zone, sample["sample_id"])
            yield SampleReading(analysed_at=moment, values=_counter_values(measurement), **sample, **shared)


def _gates(container: dict, enclosing: tuple[dict, ...] = ()) -> Iterator[tuple[dict, tuple[dict, ...]]]:
    """Every population (gate) of a processed result, with the gates enclosing it, outermost first."""
    aggregates = container.get("population aggregate document", [])
    for aggregate in aggregates if isinstance(aggregates, list) else [aggregates]:
        for population in aggregate.get("population document", []):
            yield population, enclosing
            yield from _gates(population, (*enclosing, population))


def _count(population: dict) -> float | None:
    count = population.get("count", {}).get("value")
    return float(count) if isinstance(count, int | float) and not isinstance(count, bool) and count >= 0 else None


def _fraction(population: Population, gate: dict, enclosing: tuple[dict, ...]) -> Quantity | None:
    """A population's percentage of its parent gate, or of the enclosing gate the site names."""
    if population.of is None:
        reference = enclosing[-1] if enclosing else None
    else:
        reference = next((g for g in reversed(enclosing) if population.is_reference(g.get("written name", ""))), None)
    count = _count(gate)
    total = _count(reference) if reference is not None else None
    if count is None or not total:
        return None
    return Q_(count / total * 100, "percent")


def _flow_values(measurement: dict, populations: dict[str, Population], sample_id: str) -> dict[str, Quantity]:
    values: dict[str, Quantity] = {}
    found: set[str] = set()
    for processed in measurement.get("processed data aggregate document", {}).get("processed data document", []):
        for gate, enclosing in _gates(processed):
            for key, population in populations.items():
                if not population.is_named(gate.get("written name", "")):
                    continue
                if key in found:
                    raise UnreadableExport(f"Sample {sample_id}: two gates are named as {population.title}; "
                                           "rename one in the analysis and export again.")
                found.add(key)
                if (fraction := _fraction(population, gate, enclosing)) is not None:
                    values[key] = fraction
    return values


def flow_samples(document: dict, export_format: ExportFormat, site_zone: tzinfo,
                 populations: dict[str, Population]) -> Iterator[SampleReading]:
    """The samples (tubes) of a flow cytometry document, with the site's populations as percentages."""
    aggregate = document["flow cytometry aggregate document"]
    shared = _instrument(aggregate, export_format)
    for cytometry in aggregate.get("flow cytometry document", []):
        measurements = cytometry["measurement aggregate document"]
        for measurement in measurements["measurement document"]:
            sample = _sample(measurement, export_format)
            moment = measurement.get("measurement time") or measurements.get("measurement time")
            yield SampleReading(analysed_at=_moment(moment, site_zone, sample["sample_id"]),
                                values=_flow_values(measurement, populations, sample["sample_id"]), **sample, **shared)
