"""Transition tables of quality records: a QC result is verified once; a deviation is closed once."""

from manufacturing.core.transitions import StateMachine, Transition, states
from manufacturing.quality.models import Deviation, DeviationStatus, QcResult, QcStatus

QC_RESULT = StateMachine(QcResult, [
    Transition("verified", states(QcStatus.RECORDED), QcStatus.VERIFIED),
], field="status", what=lambda result: "This QC result")

DEVIATION = StateMachine(Deviation, [
    Transition("closed", states(DeviationStatus.OPEN), DeviationStatus.CLOSED),
], field="status", what=lambda deviation: f"Deviation {deviation.number}")


def is_verified(result: QcResult) -> bool:
    """A second person verified the QC result: nothing is left to verify."""
    return not QC_RESULT.allows(result, "verified")


def is_open(deviation: Deviation) -> bool:
    """The deviation waits for QA to close it."""
    return DEVIATION.allows(deviation, "closed")
