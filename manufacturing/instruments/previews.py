"""What the technician sees before signing an import: each value beside its field, with its limits and colour."""

from dataclasses import dataclass

from wtforms.fields.choices import SelectChoice

from manufacturing.core import clock
from manufacturing.instruments.fcs import read_fcs
from manufacturing.instruments.files import intact_content, raw_flow_files
from manufacturing.instruments.forms import FcsForm, ResultsForm
from manufacturing.instruments.models import InstrumentFile
from manufacturing.instruments.operations import Prepared, Upload, proposed_start
from manufacturing.instruments.readings import InstrumentExport
from manufacturing.lots.models import Lot
from manufacturing.materials.models import EquipmentKind
from manufacturing.materials.operations import usable_equipment
from manufacturing.processing import entry_help
from manufacturing.processing.checks import lot_spec
from manufacturing.processing.doses import doses_of
from manufacturing.processing.forms import value_field_name
from manufacturing.processing.kinds import definition
from manufacturing.processing.models import StepKind
from manufacturing.specifications.evaluation import evaluate
from manufacturing.units import format_quantity


@dataclass(frozen=True)
class PreviewLine:
    """One value of the file: where it goes, as read, and how the lot's limits judge it."""

    target: str
    shown: str
    entered: str
    tone: str
    judged: str
    limits: str = ""


def sample_rows(export: InstrumentExport) -> list[tuple[int, str]]:
    return [(row, f"{sample.sample_id} · analysed {_when(sample.analysed_at)}")
            for row, sample in enumerate(export.samples)]


def _when(moment) -> str:
    return clock.format_local(moment) if moment is not None else "at a time the file does not give"


def imported(prepared: Prepared, upload: Upload) -> dict[str, str]:
    """The file's own account of itself, as the preview and the record show it."""
    sample = prepared.sample
    return {"File": upload.filename, "SHA-256": upload.sha256, "Sample ID": sample.sample_id,
            "Instrument": " · ".join(part for part in (sample.instrument, sample.model) if part),
            "Serial number": sample.serial_number or "not given by the file",
            "Registered as": str(prepared.equipment) if prepared.equipment else
            f"the file does not name it: choose the {prepared.equipment_kind.title.lower()} below",
            "Software": sample.software or "", "Analysed": _when(sample.analysed_at)}


def step_prefill(kind: StepKind, prepared: Prepared) -> dict:
    """The step form's fields as the file fills them: its values, the time proposed, the instrument."""
    data = {value_field_name(taken.target): taken.entered for taken in prepared.taken}
    data["performed_at"] = clock.to_local(proposed_start(prepared.sample)).replace(tzinfo=None)
    for index, use in enumerate(definition(kind).equipment):
        if prepared.equipment is not None and use.kind == prepared.equipment.kind:
            data[f"e_{index}"] = str(prepared.equipment.id)
    return data


def lock_imported(form, kind: StepKind, prepared: Prepared) -> None:
    """The fields the file fills are shown read-only: the signed values are the file's, whatever is typed."""
    names = [value_field_name(taken.target) for taken in prepared.taken]
    names += [f"e_{index}" for index, use in enumerate(definition(kind).equipment)
              if prepared.equipment is not None and use.kind == prepared.equipment.kind]
    for name in names:
        form[name].render_kw = {**(form[name].render_kw or {}), "readonly": True}


def step_preview(lot: Lot, kind: StepKind, prepared: Prepared) -> list[PreviewLine]:
    labels = {field.key: field.label for field in definition(kind).fields}
    help_ = entry_help.entry_help(lot, kind)
    lines = []
    for taken in prepared.taken:
        judged = entry_help.judge(lot, kind, taken.target, taken.entered)
        lines.append(PreviewLine(labels[taken.target], format_quantity(taken.quantity), taken.entered,
                                 judged.tone, judged.message, help_.limits.get(taken.target, "")))
    return lines


def results_form(lot: Lot, formdata=None) -> ResultsForm:
    return _sample_choices(lot, ResultsForm(formdata=formdata))


def fcs_form(lot: Lot) -> FcsForm:
    """The attach form, read from the request (its file included) when one is posted."""
    return _sample_choices(lot, FcsForm())


def _sample_choices(lot: Lot, form):
    """The lot's QC samples (its dose units or its final product) and the cytometers in calibration now."""
    form.dose_unit.choices = [SelectChoice("", "The lot's final product (tests done once per lot)")] + [
        SelectChoice(str(dose.id), f"Dose unit {dose.division_code}") for dose in doses_of(lot)]
    form.instrument.choices = [SelectChoice("", "— choose —")] + [
        SelectChoice(str(item.id), str(item)) for item in usable_equipment(EquipmentKind.FLOW_CYTOMETER, clock.now())]
    return form


def results_preview(lot: Lot, prepared: Prepared) -> list[PreviewLine]:
    spec = lot_spec(lot)
    lines = []
    for taken in prepared.taken:
        criterion = spec.criterion(taken.target)
        evaluation = evaluate(criterion, taken.quantity)
        lines.append(PreviewLine(criterion.name, format_quantity(taken.quantity), taken.entered,
                                 evaluation.outcome.tone, evaluation.reason, criterion.text()))
    return lines


@dataclass(frozen=True)
class RawFlowRow:
    """An FCS file kept for a QC sample, with the keywords it gives."""

    file: InstrumentFile
    sample: str
    events: str


def raw_flow_rows(lot: Lot) -> list[RawFlowRow]:
    """The lot's FCS files with their sample and event count (read again from the bytes while they are intact)."""
    doses = {dose.id: dose.division_code for dose in doses_of(lot)}
    rows = []
    for record in raw_flow_files(lot.id):
        content = intact_content(record)
        events = f"{read_fcs(content).event_count:,} events" if content is not None else "not intact: not read"
        dose = doses.get(record.dose_unit_id)
        sample = f"Dose unit {dose}" if dose else "The lot's final product"
        rows.append(RawFlowRow(record, sample, events))
    return rows
