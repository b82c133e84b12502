"""Forms of accounts: they check the shape of input only."""

from wtforms import PasswordField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from manufacturing.core.forms import LabForm
from manufacturing.core.permissions import Role

ROLE_CHOICES = [SelectChoice(role.name, role.title) for role in Role]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AtLeastOne:
    """At least one box ticked; unlike DataRequired it marks no box `required`, which would ask for every one."""

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field) -> None:
        if not field.data:
            raise StopValidation(self.message)


class LoginForm(LabForm):
    username = StringField(
        "User ID", validators=[DataRequired(), Length(max=80)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "autofocus": True},
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)],
                             render_kw={"autocomplete": "current-password"})


class ChangePasswordForm(LabForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=200)],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", render_kw={"autocomplete": "new-password"},
                            validators=[DataRequired(), EqualTo("new_password", "The two entries differ.")])


class SetUpPasswordForm(LabForm):
    username = StringField("User ID", validators=[DataRequired(), Length(max=80)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none", "autofocus": True})
    setup_code = StringField("Setup code", validators=[DataRequired(), Length(max=80)],
                             render_kw={"autocomplete": "one-time-code", "autocapitalize": "characters",
                                        "spellcheck": "false"})
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)],
                                 render_kw={"autocomplete": "new-password"})
    confirm = PasswordField("New password again", render_kw={"autocomplete": "new-password"},
                            validators=[DataRequired(), EqualTo("new_password", "The two entries differ.")])


class CreateUserForm(LabForm):
    username = StringField("User ID", validators=[DataRequired(), Length(max=40)],
                           render_kw={"autocapitalize": "none"})
    full_name = StringField("Full name (printed with signatures)",
                            validators=[DataRequired(), Length(max=120)])
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validators=[AtLeastOne("Choose at least one role.")])

    def role_values(self) -> list[Role]:
        return [Role[name] for name in self.roles.data]


class RolesForm(LabForm):
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validators=[AtLeastOne("Choose at least one role.")])
    reason = TextAreaField("Reason for the change", validators=[DataRequired(), Length(max=2000)])

    def role_values(self) -> list[Role]:
        return [Role[name] for name in self.roles.data]


class RenameForm(LabForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    reason = TextAreaField("Reason for the change", validators=[DataRequired(), Length(max=2000)])
