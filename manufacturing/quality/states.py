"""Transition tables of quality records: a QC result is verified once; a deviation is closed once."""

from manufacturing.core.transitions import StateMachine, Transition, states
from manufacturing.quality.models import Deviation, DeviationStatus, QcResult, QcStatus

QC_RESULT = StateMachine(QcResult, [
    Transition("verified", states(QcStatus.RECORDED), QcStatus.VERIFIED),
], field="status", what=lambda result: "This QC result")

DEVIATION = StateMachine(Deviation, [
    Transition("closed", states(DeviationStatus.OPEN), DeviationStatus.CLOSED),
], field="status", what=lambda deviation: f"Deviation {deviation.number}")
