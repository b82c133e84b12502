"""QA's disposition forms and the post-release alert form."""

from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from manufacturing.core.forms import LabForm, SignatureFields, Within


class ReleaseForm(SignatureFields, LabForm):
    justification = TextAreaField("Justification (exceptional release only)", validators=[Optional(), Length(max=4000)])
    physician_name = StringField("Treating physician who acknowledged it", validators=[Optional(), Length(max=120)])
    physician_acknowledged_on = DateField("Date of the physician's acknowledgement",
                                          validators=[Optional(), Within("record")])


class FinalReleaseForm(SignatureFields, LabForm):
    pass


class RejectForm(SignatureFields, LabForm):
    reason = TextAreaField("Reason for rejecting", validators=[DataRequired(), Length(max=4000)])


class InformedForm(LabForm):
    physician_name = StringField("Physician informed", validators=[DataRequired(), Length(max=120)])
    note = TextAreaField("What was communicated, when and how", validators=[DataRequired(), Length(max=4000)])
