"""Form pieces every feature uses: the reason field and the e-signature block."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class ReasonForm(FlaskForm):
    reason = TextAreaField("Reason for the change", validators=[DataRequired(), Length(max=2000)])


class SignatureFields:
    """User ID and password asked again at signing (21 CFR 11.200)."""

    sign_username = StringField("Your user ID", validators=[DataRequired(), Length(max=40)],
                                render_kw={"autocomplete": "off", "autocapitalize": "none"})
    sign_password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)],
                                  render_kw={"autocomplete": "off"})


class SignForm(SignatureFields, FlaskForm):
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=2000)])
