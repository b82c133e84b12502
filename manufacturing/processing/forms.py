"""Step forms, built from the step definitions: one text box per value, typed with its unit."""

from datetime import datetime

from wtforms import BooleanField, DateTimeLocalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from manufacturing.core import clock
from manufacturing.core.forms import LabForm, SignatureFields, Within, scanned
from manufacturing.materials.operations import usable_equipment, usable_materials
from manufacturing.processing.doses import DoseRequest
from manufacturing.processing.entries import StepInput
from manufacturing.processing.kinds import Field, StepDefinition, Use
from manufacturing.processing.models import DoseKind, ProcessStep
from manufacturing.units import Q_, Quantity, format_quantity

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def value_field_name(key: str) -> str:
    return f"v_{key}"


def _value_field(spec: Field):
    render = {"placeholder": spec.hint, "autocomplete": "off", "inputmode": "text"} if spec.hint else {}
    if spec.kind == "choice":
        return SelectField(spec.label, choices=[SelectChoice(value, label) for value, label in spec.choices])
    if spec.kind == "check":
        return BooleanField(spec.label)
    if spec.kind == "datetime":
        return DateTimeLocalField(spec.label, format=DATETIME_FORMAT, validators=[Optional(), Within("bench")])
    return StringField(spec.label, validators=[Length(max=200)], render_kw=render, description=spec.unit)


def _use_choices(use: Use, items, current_id: int | None) -> list[SelectChoice]:
    choices = [SelectChoice("", "— choose —" if use.required else "— not used —")]
    seen = set()
    for item in items:
        seen.add(item.id)
        choices.append(SelectChoice(str(item.id), str(item)))
    if current_id and current_id not in seen:
        choices.append(SelectChoice(str(current_id), f"(as recorded) #{current_id}"))
    return choices


class StepFormBase(LabForm):
    """What every step form has: the time of the step, observations and the performed signature."""

    performed_at = DateTimeLocalField("Date and time of the step (site time)", format=DATETIME_FORMAT,
                                      validators=[DataRequired("Give the date and time of the step."), Within("bench")])
    observations = TextAreaField("Observations", validators=[Optional(), Length(max=4000)])

    definition: StepDefinition

    def to_input(self) -> StepInput:
        """Collect the submitted text as entered, for the operation to read and check."""
        values = {}
        for spec in self.definition.fields:
            data = self[value_field_name(spec.key)].data
            if isinstance(data, datetime):
                data = data.strftime(DATETIME_FORMAT)
            values[spec.key] = "yes" if data is True else ("" if data in (None, False) else str(data))
        return StepInput(
            values=values, performed_at=clock.local_from_naive(self.performed_at.data),
            materials={use.role: self[f"m_{i}"].data or None for i, use in enumerate(self.definition.materials)},
            equipment={use.role: self[f"e_{i}"].data or None for i, use in enumerate(self.definition.equipment)},
            observations=self.observations.data or "", unit_printed=True,
        )


class SignedStepForm(SignatureFields, StepFormBase):
    pass


class CorrectionForm(SignatureFields, StepFormBase):
    reason = TextAreaField("Reason for the correction", validators=[DataRequired(), Length(max=2000)])


class ReceiptFields:
    subject_code = StringField("Subject ID (scan the wristband or type)", validators=[DataRequired(), Length(max=40)],
                               render_kw={**scanned("subject"), "autofocus": True})
    din = StringField("DIN (scan the bag barcode or type it with its check character)",
                      validators=[DataRequired(), Length(max=40)],
                      render_kw=scanned("din"))


class ReceiptForm(ReceiptFields, SignedStepForm):
    pass


def step_form(step_definition: StepDefinition, base: type = SignedStepForm, step: ProcessStep | None = None,
              formdata=None, extra: dict | None = None, **defaults):
    """Build and instantiate the form of one step kind (pre-filled from a step when correcting)."""
    now = clock.now()
    attrs = {"definition": step_definition, **(extra or {})}
    for spec in step_definition.fields:
        attrs[value_field_name(spec.key)] = _value_field(spec)
    used = {row.role: row.material_lot_id for row in step.materials} if step else {}
    for i, use in enumerate(step_definition.materials):
        attrs[f"m_{i}"] = SelectField(use.role, choices=_use_choices(use, usable_materials(use.kind, now),
                                                                     used.get(use.role)))
    used = {row.role: row.equipment_id for row in step.equipment} if step else {}
    for i, use in enumerate(step_definition.equipment):
        attrs[f"e_{i}"] = SelectField(use.role, choices=_use_choices(use, usable_equipment(use.kind, now),
                                                                     used.get(use.role)))
    form_class = type(f"{step_definition.kind.name.title()}Form", (base,), attrs)
    data = _prefill(step_definition, step) if step else {"performed_at": clock.to_local(now).replace(tzinfo=None)}
    return form_class(formdata=formdata, data=data, **defaults)


def _prefill(step_definition: StepDefinition, step: ProcessStep) -> dict:
    data = {"performed_at": clock.to_local(step.performed_at).replace(tzinfo=None),
            "observations": step.observations or ""}
    for spec in step_definition.fields:
        value = step.value(spec.key)
        if value is None:
            continue
        if spec.kind == "check":
            data[value_field_name(spec.key)] = True
        elif spec.kind == "datetime":
            data[value_field_name(spec.key)] = datetime.strptime(value.entered.replace(" ", "T"), DATETIME_FORMAT)
        else:
            data[value_field_name(spec.key)] = value.entered
    for i, use in enumerate(step_definition.materials):
        data[f"m_{i}"] = next((str(r.material_lot_id) for r in step.materials if r.role == use.role), "")
    for i, use in enumerate(step_definition.equipment):
        data[f"e_{i}"] = next((str(r.equipment_id) for r in step.equipment if r.role == use.role), "")
    return data


DOSE_ROWS = 5


def dose_fields(weights: list, levels: list[Quantity], max_infusions: int) -> dict:
    """The extra fields of the dose preparation form: the weight used and one row per dose unit."""
    fields = {"weight": SelectField("Body weight used", choices=[
        SelectChoice(str(w.id), f"{format_quantity(w.weight)} measured {w.measured_on}") for w in weights])}
    infusions = [SelectChoice("", "— no unit —")] + [
        SelectChoice(str(n), f"Infusion {n}") for n in range(1, max_infusions + 1)]
    level_choices = [SelectChoice(repr(level.to("cell / kilogram").magnitude), format_quantity(level))
                     for level in levels]
    kinds = [SelectChoice(kind.name, kind.title) for kind in DoseKind]
    for row in range(DOSE_ROWS):
        fields[f"d{row}_infusion"] = SelectField("Infusion", choices=infusions)
        fields[f"d{row}_level"] = SelectField("Dose level per kg", choices=level_choices)
        fields[f"d{row}_kind"] = SelectField("Fresh or cryopreserved", choices=kinds)
        fields[f"d{row}_volume"] = StringField("Final volume", validators=[Length(max=40)],
                                               render_kw={"placeholder": "e.g. 50 mL", "autocomplete": "off"})
    return fields


def dose_requests(form) -> list[DoseRequest]:
    """Read the filled rows of the dose preparation form."""
    requests = []
    for row in range(DOSE_ROWS):
        infusion = form[f"d{row}_infusion"].data
        if not infusion:
            continue
        requests.append(DoseRequest(infusion_number=int(infusion),
                                    dose_per_kg=Q_(float(form[f"d{row}_level"].data), "cell / kilogram"),
                                    kind=DoseKind[form[f"d{row}_kind"].data],
                                    final_volume=form[f"d{row}_volume"].data or ""))
    return requests
