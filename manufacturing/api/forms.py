"""Forms of the token pages: a personal token named after where it is used, a service token for a system."""

from wtforms import PasswordField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from manufacturing.accounts.forms import AtLeastOne, MultiCheckboxField
from manufacturing.api.models import Scope
from manufacturing.core.forms import LabForm

SCOPE_CHOICES = [SelectChoice(scope.value, scope.value) for scope in Scope]


class PersonalTokenForm(LabForm):
    name = StringField("Where it is used", validators=[DataRequired(), Length(max=80)],
                       render_kw={"placeholder": "e.g. QC bench computer"})
    scopes = MultiCheckboxField("Scopes", choices=SCOPE_CHOICES, validators=[AtLeastOne("Choose at least one scope.")])
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


class ServiceTokenForm(LabForm):
    name = StringField("Service", validators=[DataRequired(), Length(max=24)], render_kw={"placeholder": "e.g. lims"})
    scopes = MultiCheckboxField("Scopes", choices=SCOPE_CHOICES, validators=[AtLeastOne("Choose at least one scope.")])
    password = PasswordField("Your password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


class RevokeForm(LabForm):
    pass
