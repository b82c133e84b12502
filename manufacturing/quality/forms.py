"""Deviation forms."""

from wtforms import DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from manufacturing.core.forms import LabForm, SignatureFields, Within
from manufacturing.lots.models import LotState
from manufacturing.quality.models import DeviationClass


class DeviationForm(LabForm):
    classification = SelectField("Classification", choices=[SelectChoice(c.name, c.title) for c in DeviationClass])
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("What happened", validators=[DataRequired(), Length(max=8000)])
    immediate_action = TextAreaField("Immediate action taken", validators=[DataRequired(), Length(max=8000)])

    def classification_value(self) -> DeviationClass:
        return DeviationClass[self.classification.data]


class AssessmentForm(LabForm):
    impact_assessment = TextAreaField("Impact assessment", validators=[DataRequired(), Length(max=8000)])
    affects_product = RadioField("Does it affect the product?", validators=[DataRequired()], choices=[
        SelectChoice("no", "No: the dose units are not affected"),
        SelectChoice("yes", "Yes: the dose units are affected")])
    reason = TextAreaField("Reason (when changing an earlier assessment)", validators=[Optional(), Length(max=2000)])


class CloseForm(SignatureFields, LabForm):
    pass


class LotFilterForm(LabForm):
    """The lot list's filter: read from the query string, so that a filtered list can be bookmarked and paged."""

    class Meta:
        csrf = False

    state = SelectField("State", choices=[SelectChoice("", "Any state")] + [SelectChoice(s.name, s.title)
                                                                               for s in LotState],
                        validators=[Optional()])
    subject = StringField("Subject ID", validators=[Optional(), Length(max=40)])
    opened_from = DateField("Opened from (local date)", validators=[Optional(), Within("search")])
    opened_to = DateField("Opened to (local date, inclusive)", validators=[Optional(), Within("search")])
