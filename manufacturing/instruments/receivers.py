"""What instruments answers: `audit verify` checks every imported file against its seal."""

from manufacturing.core.audit_verify import verifying
from manufacturing.instruments.files import replaced_files


def connect() -> None:
    """Connect instruments' receivers; called once by the application factory."""
    verifying.connect(replaced_files)
