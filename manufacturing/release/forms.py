"""QA's disposition forms and the post-release alert form."""

from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from manufacturing.core.forms import SignatureFields


class ReleaseForm(SignatureFields, FlaskForm):
    justification = TextAreaField("Justification (exceptional release only)", validators=[Optional(), Length(max=4000)])
    physician_name = StringField("Treating physician who acknowledged it", validators=[Optional(), Length(max=120)])
    physician_acknowledged_on = DateField("Date of the physician's acknowledgement", validators=[Optional()])


class FinalReleaseForm(SignatureFields, FlaskForm):
    pass


class RejectForm(SignatureFields, FlaskForm):
    reason = TextAreaField("Reason for rejecting", validators=[DataRequired(), Length(max=4000)])


class InformedForm(FlaskForm):
    physician_name = StringField("Physician informed", validators=[DataRequired(), Length(max=120)])
    note = TextAreaField("What was communicated, when and how", validators=[DataRequired(), Length(max=4000)])
