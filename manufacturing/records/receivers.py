"""What records does on a release: store the certificate and the lot's batch record as they stand."""

import logging

from manufacturing.core.audit_verify import verifying
from manufacturing.extensions import db
from manufacturing.records.documents import issue_release_documents
from manufacturing.records.signing import SigningRefused
from manufacturing.records.storage import replaced_documents
from manufacturing.release.signals import dose_released, release_withdrawn

log = logging.getLogger(__name__)


def store_release_documents(dose, user=None, **_) -> None:
    """Store the certificate of analysis and the batch record of a dose unit just released."""
    issue_release_documents(dose, user)


def store_withdrawn_certificate(dose, **_) -> None:
    """Store the certificate of a unit whose release was withdrawn, saying so, and the batch record as it stands.

    Nothing holds a withdrawal back: without the site's certificate the documents are not stored (logged), and
    whoever reads the certificate gets a copy rendered then, marked not stored, that says WITHDRAWN.
    """
    try:
        with db.session.begin_nested():
            issue_release_documents(dose, None)
    except SigningRefused as refusal:
        log.error("The withdrawn certificate of %s/%s was not stored: %s", dose.lot.lot_number, dose.division_code,
                  refusal.message)


def connect() -> None:
    """Connect records' receivers; called once by the application factory."""
    dose_released.connect(store_release_documents)
    release_withdrawn.connect(store_withdrawn_certificate)
    verifying.connect(replaced_documents)
