"""What records does on a release or a withdrawal: queue the storing of the certificate and the batch record."""

from manufacturing.core.audit_verify import verifying
from manufacturing.records import jobs
from manufacturing.records.models import JobKind
from manufacturing.records.storage import replaced_documents
from manufacturing.release.signals import dose_released, release_withdrawn


def queue_release_documents(dose, user=None, **_) -> None:
    """Queue the certificate of analysis and the batch record of a dose unit just released."""
    jobs.queue(JobKind.RELEASE, dose, user)


def queue_withdrawn_certificate(dose, **_) -> None:
    """Queue the certificate of a unit whose release was withdrawn, saying so, and the batch record as it stands.

    Nothing holds a withdrawal back: a job that cannot store them (no site certificate, say) is logged and tried
    again; whoever reads the certificate meanwhile gets a copy rendered then, marked not stored, saying WITHDRAWN.
    """
    jobs.queue(JobKind.WITHDRAWAL, dose)


def connect() -> None:
    """Connect records' receivers; called once by the application factory."""
    dose_released.connect(queue_release_documents)
    release_withdrawn.connect(queue_withdrawn_certificate)
    verifying.connect(replaced_documents)
