"""Questions processing asks the layers above (quality) before it acts, without importing them."""

from blinker import Namespace

_signals = Namespace()

step_verifying = _signals.signal("step-verifying")
"""Sent with the process step before it is verified; a receiver returns why it may not be, or None."""


def verification_problem(step) -> str | None:
    """Return why the step may not be verified yet, or None."""
    return next((problem for _, problem in step_verifying.send(step) if problem), None)


step_corrected = _signals.signal("step-corrected")
"""Sent inside the correction's transaction with the corrected step and the `reason`: what was released on the
record as it stood no longer stands (release stops the lot's released units)."""


def announce_correction(step, reason: str) -> None:
    """Tell the receivers a step of the lot was corrected."""
    step_corrected.send(step, reason=reason)
