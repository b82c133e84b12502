"""The filter of the audit trail page."""

from wtforms import DateField, StringField
from wtforms.validators import Length, Optional

from manufacturing.core.forms import LabForm, Within


class TrailFilterForm(LabForm):
    class Meta:
        csrf = False

    entity = StringField("Record type", validators=[Optional(), Length(max=80)])
    entity_id = StringField("Record ID", validators=[Optional(), Length(max=80)])
    scope = StringField("Belongs to (e.g. lot:3)", validators=[Optional(), Length(max=80)])
    user = StringField("User ID", validators=[Optional(), Length(max=80)])
    action = StringField("Action starts with", validators=[Optional(), Length(max=80)])
    date_from = DateField("From (local date)", validators=[Optional(), Within("search")])
    date_to = DateField("To (local date, inclusive)", validators=[Optional(), Within("search")])
