"""Forms of materials and equipment: they check the shape of input only."""

from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from manufacturing.core.forms import LabForm, SignatureFields, Within
from manufacturing.materials.models import EquipmentKind, MaterialKind, MaterialStatus


def _choices(enum_class, blank: str) -> list[SelectChoice]:
    return [SelectChoice("", blank), *(SelectChoice(member.name, member.title) for member in enum_class)]


def _member(enum_class, name: str | None):
    return enum_class[name] if name else None


class _Prefixed:
    """Prefix the field names, so that several forms on one page keep distinct field IDs."""

    form_prefix = ""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", self.form_prefix)
        super().__init__(*args, **kwargs)


class MaterialFilterForm(LabForm):
    class Meta:
        csrf = False

    kind = SelectField("Kind", choices=_choices(MaterialKind, "All kinds"), validators=[Optional()])
    status = SelectField("Status", choices=_choices(MaterialStatus, "All statuses"), validators=[Optional()])

    def filters(self) -> dict:
        return {"kind": _member(MaterialKind, self.kind.data), "status": _member(MaterialStatus, self.status.data)}


class ReceiveMaterialForm(LabForm):
    kind = SelectField("Kind", choices=_choices(MaterialKind, "Choose..."), validators=[DataRequired()])
    name = StringField("Material name", validators=[DataRequired(), Length(max=120)])
    manufacturer = StringField("Manufacturer", validators=[DataRequired(), Length(max=120)])
    supplier_lot = StringField("Supplier lot number", validators=[DataRequired(), Length(max=60)],
                               render_kw={"autocapitalize": "none"})
    expiry_date = DateField("Expiry date (from the label)", validators=[DataRequired(), Within("validity")])

    def kind_value(self) -> MaterialKind:
        return MaterialKind[self.kind.data]


class ReleaseMaterialForm(_Prefixed, SignatureFields, LabForm):
    form_prefix = "release"
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=2000)])


class RejectMaterialForm(_Prefixed, SignatureFields, LabForm):
    form_prefix = "reject"
    reason = TextAreaField("Reason for rejection", validators=[DataRequired(), Length(max=2000)])


class QuarantineMaterialForm(_Prefixed, LabForm):
    form_prefix = "quarantine"
    reason = TextAreaField("Reason for quarantine (e.g. supplier recall)",
                           validators=[DataRequired(), Length(max=2000)])


class RegisterEquipmentForm(LabForm):
    code = StringField("Equipment code", validators=[DataRequired(), Length(max=40)],
                       render_kw={"autocapitalize": "characters"})
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    kind = SelectField("Kind", choices=_choices(EquipmentKind, "Choose..."), validators=[DataRequired()])
    location = StringField("Location", validators=[DataRequired(), Length(max=120)])
    calibration_due = DateField("Calibration due date", validators=[DataRequired(), Within("validity")])
    serial_number = StringField("Serial number (as the instrument writes it in its exports)",
                                validators=[Optional(), Length(max=60)], render_kw={"autocapitalize": "characters"})

    def kind_value(self) -> EquipmentKind:
        return EquipmentKind[self.kind.data]


class CalibrationForm(_Prefixed, LabForm):
    form_prefix = "calibration"
    calibration_due = DateField("Next calibration due date", validators=[DataRequired(), Within("validity")])
    reason = TextAreaField("Reason (calibration performed, certificate number)",
                           validators=[DataRequired(), Length(max=2000)])


class RetireEquipmentForm(_Prefixed, LabForm):
    form_prefix = "retire"
    reason = TextAreaField("Reason for retiring", validators=[DataRequired(), Length(max=2000)])
