"""Signals release sends so that the layers above it act on a release, without release importing them."""

from blinker import Namespace

_signals = Namespace()

dose_released = _signals.signal("dose-released")
"""Sent inside the release's transaction with the dose unit and the releasing `user`: the storing of the certificate
and the batch record is queued with the release, or neither is."""


def announce_release(dose, user) -> None:
    """Tell the receivers a dose unit was released (records queues its certificate and batch record)."""
    dose_released.send(dose, user=user)


release_withdrawn = _signals.signal("release-withdrawn")
"""Sent inside the transaction with the dose unit whose release a failing result withdrew."""


def announce_withdrawal(dose) -> None:
    """Tell the receivers a unit's release was withdrawn (records queues the certificate saying so)."""
    release_withdrawn.send(dose)
