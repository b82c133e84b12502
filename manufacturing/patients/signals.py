"""Questions patients asks the layers above (lots, processing, dispensing) without importing them.

Each signal is sent inside the current transaction; its receivers answer from their own records.
"""

from datetime import date, datetime

from blinker import Namespace

_signals = Namespace()

subject_code_correcting = _signals.signal("subject-code-correcting")
"""Sent with the subject before its ID is corrected; a receiver returns why not, or None."""

order_cancelling = _signals.signal("order-cancelling")
"""Sent with the infusion order before it is cancelled; a receiver returns the dose units made for it."""

infusions_given = _signals.signal("infusions-given")
"""Sent with the subject; a receiver returns the site date each infusion started, by infusion number."""


infusion_started = _signals.signal("infusion-started")
"""Sent with the subject; a receiver returns when the subject's latest recorded infusion started, or None."""


def subject_code_problem(subject) -> str | None:
    """Return why the subject's ID may not be corrected, or None."""
    return next((problem for _, problem in subject_code_correcting.send(subject) if problem), None)


def dose_units_made(order) -> int:
    """Return the number of dose units made for an infusion order."""
    return sum(count or 0 for _, count in order_cancelling.send(order))


def administered_dates(subject) -> dict[int, date]:
    """Return the site date each infusion of the subject started, by infusion number."""
    dates: dict[int, date] = {}
    for _, given in infusions_given.send(subject):
        dates.update(given or {})
    return dates


def latest_infusion_start(subject) -> datetime | None:
    """Return when the subject's latest recorded infusion started (it may be a few minutes ahead), or None."""
    return max((start for _, start in infusion_started.send(subject) if start is not None), default=None)
