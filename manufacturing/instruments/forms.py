"""Forms of an import: the file (uploaded or picked from the instruments' folder), the sample row, the carried file."""

import base64
import binascii
import hashlib
import hmac

from flask import current_app
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from manufacturing.core.errors import DomainError
from manufacturing.core.forms import LabForm, SignatureFields
from manufacturing.core.keyring import equal_text
from manufacturing.instruments import drop_folder
from manufacturing.instruments.operations import Upload
from manufacturing.processing.forms import SignedStepForm


def file_seal(upload: Upload) -> str:
    """A MAC of the carried file and its name under the site's secret key: the page cannot swap either."""
    text = f"instrument export\n{upload.sha256}\n{upload.filename}".encode()
    return hmac.new(current_app.secret_key.encode() if isinstance(current_app.secret_key, str)
                    else current_app.secret_key, text, hashlib.sha256).hexdigest()


def _row(text: str | None) -> int | None:
    """A row of the file as the page posts it: ASCII digits, a handful of them."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


class CarriedFile:
    """The file read at the preview, carried to the signature in the page itself (nothing is stored before)."""

    export_data = HiddenField(validators=[Optional()])
    export_name = HiddenField(validators=[Optional(), Length(max=200)])
    export_row = HiddenField(validators=[Optional(), Length(max=6)])
    export_seal = HiddenField(validators=[Optional(), Length(max=64)])  # the server's MAC of the file and its name

    def carried(self) -> Upload | None:
        """The file the page carries, as the server read it at the preview (its bytes and name under the seal)."""
        if not self.export_data.data:
            return None
        try:
            content = base64.b64decode(self.export_data.data, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError("The file carried by the page was damaged: import it again.") from None
        upload = Upload(self.export_name.data or "export", content)
        if not equal_text(file_seal(upload), self.export_seal.data):
            raise DomainError("The file carried by the page was changed after it was read: import it again.")
        return upload

    def row(self) -> int | None:
        return _row(self.export_row.data)

    def carry(self, upload: Upload, row: int | None) -> None:
        self.export_data.data = base64.b64encode(upload.content).decode("ascii")
        self.export_name.data = upload.filename
        self.export_row.data = "" if row is None else str(row)
        self.export_seal.data = file_seal(upload)


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
        chosen = _row(self.sample_row.data)
        return chosen if chosen is not None else self.row()


class ResultsForm(CarriedFile, SignatureFields, LabForm):
    """QC results from a flow export: the sample (a dose unit or the lot's), signed as performed."""

    dose_unit = SelectField("Sample", validators=[Optional()])
    instrument = SelectField("Flow cytometer (the file does not give its serial number)", validators=[Optional()])


class FcsForm(LabForm):
    """An FCS file to keep as the raw record of a QC sample's flow results."""

    fcs_file = FileField("FCS file (3.0 or 3.1)")
    dose_unit = SelectField("Sample", validators=[Optional()])
    instrument = SelectField("Flow cytometer (when the file does not give its serial number)", validators=[Optional()])

    def upload(self) -> Upload:
        uploaded = self.fcs_file.data
        if not (uploaded and getattr(uploaded, "filename", "")):
            raise DomainError("Choose the FCS file to attach.")
        return Upload(uploaded.filename, uploaded.read())


class StepImportForm(CarriedFile, SignedStepForm):
    """A step's form filled from an export, the file carried to the signature."""
