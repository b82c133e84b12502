"""Forms of patients: they check the shape of input only."""

from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange

from manufacturing.core.forms import LabForm, SignatureFields, Within
from manufacturing.core.web import ROW_ID_MAX
from manufacturing.patients.guards import SubjectDetails
from manufacturing.patients.models import Sex, StopReason
from manufacturing.patients.operations import OrderEntry
from manufacturing.units import format_limit, format_quantity

SEX_CHOICES = [SelectChoice(sex.name, sex.title) for sex in Sex]
STOP_CHOICES = [SelectChoice("", "Choose…"), *(SelectChoice(reason.name, reason.title) for reason in StopReason)]


class SubjectForm(LabForm):
    subject_code = StringField("Study subject ID", validators=[DataRequired(), Length(max=60)],
                               render_kw={"autocapitalize": "characters", "autocomplete": "off"})
    initials = StringField("Initials", validators=[DataRequired(), Length(max=8)],
                           render_kw={"autocapitalize": "characters", "autocomplete": "off"})
    date_of_birth = DateField("Date of birth", validators=[DataRequired("Enter a date."), Within("birth")])
    sex = SelectField("Sex", choices=SEX_CHOICES, validators=[DataRequired()])
    site = StringField("Site", validators=[DataRequired(), Length(max=120)])

    def details(self) -> SubjectDetails:
        return SubjectDetails(self.subject_code.data, self.initials.data, self.date_of_birth.data,
                              Sex[self.sex.data], self.site.data)

    @classmethod
    def of(cls, subject, **kwargs) -> "SubjectForm":
        """Return the form filled with a subject's recorded data."""
        return cls(subject_code=subject.subject_code, initials=subject.initials,
                   date_of_birth=subject.date_of_birth, sex=subject.sex.name, site=subject.site, **kwargs)


class CorrectSubjectForm(SubjectForm):
    reason = TextAreaField("Reason for the correction", validators=[DataRequired(), Length(max=2000)])


class BodyWeightForm(LabForm):
    weight = StringField("Body weight", validators=[DataRequired(), Length(max=60)],
                         render_kw={"placeholder": "e.g. 64.5 kg", "autocomplete": "off"})
    measured_on = DateField("Weighed on", validators=[DataRequired("Enter a date."), Within("weighing")])


class OrderForm(LabForm):
    # The choices are offered for the page; the operation checks them against the schedule in force.
    infusion_number = IntegerField("Infusion number", validators=[DataRequired(), NumberRange(min=1, max=99)])
    dose_level = SelectField("Dose level (viable NK cells per kg)", coerce=int, validate_choice=False,
                             validators=[DataRequired(), NumberRange(min=1, max=99)])
    body_weight = SelectField("Body weight used", coerce=int, validate_choice=False,
                              validators=[DataRequired("Record a body weight first."),
                                          NumberRange(min=1, max=ROW_ID_MAX)])
    planned_date = DateField("Planned infusion date", validators=[DataRequired("Enter a date."), Within("planning")])
    prescriber = StringField("Prescribing physician", validators=[DataRequired(), Length(max=120)])
    order_reference = StringField("Order reference", validators=[DataRequired(), Length(max=60)])

    def offer(self, levels, weights) -> "OrderForm":
        """Offer the dose levels allowed for the next infusion and the subject's dated weights."""
        self.dose_level.choices = [
            SelectChoice(level.infusion, f"Level {level.infusion}: {format_limit(level.dose_per_kg)}")
            for level in levels
        ]
        self.body_weight.choices = [
            SelectChoice(weight.id, f"{format_quantity(weight.weight)} weighed on {weight.measured_on}")
            for weight in weights
        ]
        return self

    def entry(self) -> OrderEntry:
        return OrderEntry(self.infusion_number.data, self.dose_level.data, self.body_weight.data,
                          self.planned_date.data, self.prescriber.data, self.order_reference.data)


class OffStudyForm(SignatureFields, LabForm):
    reason = SelectField("Why the subject is off study", choices=STOP_CHOICES, validators=[DataRequired()])
    stopped_on = DateField("Off study since", validators=[DataRequired("Enter a date."), Within("record")])
    detail = TextAreaField("What happened", validators=[DataRequired(), Length(max=4000)])

    def stop_reason(self) -> StopReason | None:
        return StopReason.__members__.get(self.reason.data or "")
