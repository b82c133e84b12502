"""Form pieces every feature uses: the base form that checks typed text and dates, the reason, the e-signature."""

import unicodedata

from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from manufacturing.core import plausible
from manufacturing.core.text import text_problem


def _composed(value):
    """Normalise typed text to NFC, so that "ò" typed two ways is stored one way."""
    return unicodedata.normalize("NFC", value) if isinstance(value, str) else value


def _printable(form, field) -> None:
    """Refuse hidden, control and formatting characters (line breaks only in multi-line text)."""
    if isinstance(field.data, str) and (problem := text_problem(field.data, isinstance(field, TextAreaField))):
        raise StopValidation(problem[:1].upper() + problem[1:] + ".")


class Within:
    """Refuse a date or date and time outside the plausible window of its kind (specs/plausible.toml)."""

    def __init__(self, kind: str):
        self.kind = kind

    def __call__(self, form, field) -> None:
        if field.data is None:
            return
        if isinstance(field, DateField):
            problem = plausible.date_problem(field.data, self.kind)
        else:
            problem = plausible.moment_problem(field.data, self.kind)
        if problem:
            raise StopValidation(problem + ".")


def scanned(kind: str) -> dict:
    """The attributes of a field a barcode scanner types into (then Enter): static/js/scan.js reads `data-scan`.

    kind: "din", "subject" (checked on the spot by the server's own rules) or "division".
    """
    return {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "data-scan": kind}


DEFAULT_WINDOW = "search"  # a date field that names no kind still refuses year 1 and 9999


class LabForm(FlaskForm):
    """Every form of the application: typed text is printable and NFC, every date plausible."""

    class Meta(FlaskForm.Meta):
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            if isinstance(field, StringField):
                field.filters = (_composed, *field.filters)
                field.validators = [_printable, *field.validators]
            elif isinstance(field, DateTimeField) and not any(isinstance(v, Within) for v in field.validators):
                field.validators = [*field.validators, Within(DEFAULT_WINDOW)]
            return field


class ReasonForm(LabForm):
    reason = TextAreaField("Reason for the change", validators=[DataRequired(), Length(max=2000)])


class SignatureFields:
    """User ID and password asked again at signing (21 CFR 11.200)."""

    sign_username = StringField("Your user ID", validators=[DataRequired(), Length(max=40)],
                                render_kw={"autocomplete": "off", "autocapitalize": "none"})
    sign_password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)],
                                  render_kw={"autocomplete": "off"})


class SignForm(SignatureFields, LabForm):
    comment = TextAreaField("Comment (optional)", validators=[Optional(), Length(max=2000)])
