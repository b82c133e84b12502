"""Questions processing asks the layers above (quality) before it acts, without importing them."""

from blinker import Namespace

_signals = Namespace()

step_verifying = _signals.signal("step-verifying")
"""Sent with the process step before it is verified; a receiver returns why it may not be, or None."""


def verification_problem(step) -> str | None:
    """Return why the step may not be verified yet, or None."""
    return next((problem for _, problem in step_verifying.send(step) if problem), None)
