"""What records does on a release: store the certificate and the lot's batch record as they stand."""

from manufacturing.core.audit_verify import verifying
from manufacturing.records.documents import issue_release_documents
from manufacturing.records.storage import replaced_documents
from manufacturing.release.signals import dose_released, release_withdrawn


def store_release_documents(dose, user=None, **_) -> None:
    """Store the certificate of analysis and the batch record of a dose unit just released."""
    issue_release_documents(dose, user)


def store_withdrawn_certificate(dose, **_) -> None:
    """Store the certificate of a unit whose release was withdrawn, saying so, and the batch record as it stands."""
    issue_release_documents(dose, None)


def connect() -> None:
    """Connect records' receivers; called once by the application factory."""
    dose_released.connect(store_release_documents)
    release_withdrawn.connect(store_withdrawn_certificate)
    verifying.connect(replaced_documents)
