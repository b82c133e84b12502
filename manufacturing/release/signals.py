"""Signals release sends so that the layers above it act on a release, without release importing them."""

from blinker import Namespace

_signals = Namespace()

dose_released = _signals.signal("dose-released")
"""Sent with the dose unit and the releasing `user` once its release or final certificate is committed."""


def announce_release(dose, user) -> None:
    """Tell the receivers a dose unit was released (records stores its certificate and batch record)."""
    dose_released.send(dose, user=user)
