"""What specifications answer when the audit trail is verified: stored versions whose text was edited."""

from manufacturing.core.audit_verify import verifying
from manufacturing.specifications.registry import altered_versions


def connect() -> None:
    """Connect the specifications' receivers; called once by the application factory."""
    verifying.connect(altered_versions)
