"""Transition tables of QA's records: a disposition stands until superseded or withdrawn; an alert is closed once."""

from manufacturing.core.transitions import StateMachine, Transition, states
from manufacturing.release.models import AlertState, Disposition, DispositionState, ReleaseAlert

DISPOSITION = StateMachine(Disposition, [
    Transition("superseded", states(DispositionState.STANDING), DispositionState.SUPERSEDED),
    Transition("withdrawn", states(DispositionState.STANDING), DispositionState.WITHDRAWN),
], what=lambda disposition: "This certificate")

ALERT = StateMachine(ReleaseAlert, [
    Transition("closed", states(AlertState.OPEN), AlertState.CLOSED),
], what=lambda alert: "This alert")
