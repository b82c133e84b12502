"""What records does on a release: store the certificate and the lot's batch record as they stand."""

from manufacturing.records.documents import issue_release_documents
from manufacturing.release.signals import dose_released


def store_release_documents(dose, user=None, **_) -> None:
    """Store the certificate of analysis and the batch record of a dose unit just released."""
    issue_release_documents(dose, user)


def connect() -> None:
    """Connect records' receivers; called once by the application factory."""
    dose_released.connect(store_release_documents)
