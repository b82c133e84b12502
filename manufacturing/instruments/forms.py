"""Forms of an import: the file (uploaded or picked from the instruments' folder), the sample row, the carried file."""

import base64
import binascii

from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from manufacturing.core.errors import DomainError
from manufacturing.core.forms import LabForm, SignatureFields
from manufacturing.instruments import drop_folder
from manufacturing.instruments.operations import Upload
from manufacturing.processing.forms import SignedStepForm


class CarriedFile:
    """The file read at the preview, carried to the signature in the page itself (nothing is stored before)."""

    export_data = HiddenField(validators=[Optional()])
    export_name = HiddenField(validators=[Optional(), Length(max=200)])
    export_row = HiddenField(validators=[Optional(), Length(max=6)])

    def carried(self) -> Upload | None:
        if not self.export_data.data:
            return None
        try:
            content = base64.b64decode(self.export_data.data, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError("The file carried by the page was damaged: import it again.") from None
        return Upload(self.export_name.data or "export", content)

    def row(self) -> int | None:
        text = (self.export_row.data or "").strip()
        return int(text) if text.isdigit() else None

    def carry(self, upload: Upload, row: int | None) -> None:
        self.export_data.data = base64.b64encode(upload.content).decode("ascii")
        self.export_name.data = upload.filename
        self.export_row.data = "" if row is None else str(row)


class UploadForm(CarriedFile, LabForm):
    """The export to import: a file from the tablet, or one the instrument left in its folder."""

    export = FileField("Instrument export file")
    folder_file = SelectField("Or a file the instruments exported to their folder", validators=[Optional()],
                              validate_choice=False)
    sample_row = SelectField("Sample in the file", validators=[Optional()], validate_choice=False)

    def __init__(self, *args, samples: list[tuple[int, str]] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.folder_file.choices = [SelectChoice("", "— none —")] + [
            SelectChoice(name, label) for name, label in drop_folder.listing()]
        self.sample_row.choices = [SelectChoice("", "— choose the sample —")] + [
            SelectChoice(str(row), label) for row, label in samples]

    def upload(self) -> Upload:
        """The file given: uploaded, picked from the folder, or carried from the page before."""
        uploaded = self.export.data
        if uploaded and getattr(uploaded, "filename", ""):
            return Upload(uploaded.filename, uploaded.read())
        if self.folder_file.data:
            return drop_folder.read(self.folder_file.data)
        carried = self.carried()
        if carried is None:
            raise DomainError("Choose the export file to import.")
        return carried

    def chosen_row(self) -> int | None:
        text = self.sample_row.data or ""
        return int(text) if text.isdigit() else self.row()


class ResultsForm(CarriedFile, SignatureFields, LabForm):
    """QC results from a flow export: the sample (a dose unit or the lot's), signed as performed."""

    dose_unit = SelectField("Sample", validators=[Optional()])


class StepImportForm(CarriedFile, SignedStepForm):
    """A step's form filled from an export, the file carried to the signature."""
