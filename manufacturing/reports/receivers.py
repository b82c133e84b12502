"""What reports answers: `audit verify` checks every stored trial report against its seal."""

from manufacturing.core.audit_verify import verifying
from manufacturing.reports.stored import replaced_reports


def connect() -> None:
    """Connect reports' receivers; called once by the application factory."""
    verifying.connect(replaced_reports)
