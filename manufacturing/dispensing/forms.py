"""Pharmacy forms: issue, the two-person bedside check, the administration record, a return."""

from wtforms import BooleanField, DateTimeLocalField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from manufacturing.core.forms import LabForm, SignatureFields, Within, scanned

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class IssueForm(SignatureFields, LabForm):
    order_id = HiddenField(validators=[DataRequired()])
    collector_name = StringField("Name of the person collecting the dose", validators=[DataRequired(), Length(max=120)],
                                 render_kw={"autocomplete": "off"})
    identity_confirmed = BooleanField("I checked the collector's identity together with them")


def _wristband(who: str) -> StringField:
    return StringField(f"{who}: wristband subject ID", validators=[DataRequired(), Length(max=60)],
                       render_kw=scanned("subject"))


def _din(who: str) -> StringField:
    return StringField(f"{who}: bag DIN (scan, or type it with its check character)",
                       validators=[DataRequired(), Length(max=60)], render_kw=scanned("din"))


def _division(who: str) -> StringField:
    return StringField(f"{who}: bag division (type e.g. A0, or scan the product code)",
                       validators=[DataRequired(), Length(max=20)], render_kw=scanned("division"))


class BedsideForm(LabForm):
    """Each person reads wristband and bag on their own; the first is logged in, the second gives their user ID."""

    first_wristband, first_din, first_division = _wristband("First"), _din("First"), _division("First")
    second_wristband, second_din, second_division = _wristband("Second"), _din("Second"), _division("Second")
    first_password = PasswordField("First: your password", validators=[DataRequired(), Length(max=200)],
                                   render_kw={"autocomplete": "off"})
    second_username = StringField("Second: user ID", validators=[DataRequired(), Length(max=40)],
                                  render_kw={"autocomplete": "off", "autocapitalize": "none"})
    second_password = PasswordField("Second: password", validators=[DataRequired(), Length(max=200)],
                                    render_kw={"autocomplete": "off"})
    appearance_ok = BooleanField("Bag intact, labelled, no clumps or leaks: appearance as expected")


class AdministrationForm(SignatureFields, LabForm):
    started_at = DateTimeLocalField("Infusion started (site time)", format=DATETIME_FORMAT,
                                    validators=[DataRequired("Give the start of the infusion."), Within("bench")])
    ended_at = DateTimeLocalField("Infusion ended (site time)", format=DATETIME_FORMAT,
                                  validators=[DataRequired("Give the end of the infusion."), Within("bench")])
    volume_infused = StringField("Volume infused", validators=[DataRequired(), Length(max=40)],
                                 render_kw={"placeholder": "e.g. 50 mL", "autocomplete": "off"})
    administered_by = StringField("Administered by (name)", validators=[DataRequired(), Length(max=120)])
    appearance = StringField("Product inspection: appearance", validators=[DataRequired(), Length(max=200)])
    adverse_reactions = TextAreaField("Adverse reactions ('none' if none)", validators=[DataRequired(),
                                                                                       Length(max=4000)])
    deviations = TextAreaField("Deviations (optional)", validators=[Optional(), Length(max=4000)])
