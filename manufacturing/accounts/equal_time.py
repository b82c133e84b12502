"""Every refused login takes the time of one password hash, so that timing tells nothing about the account."""

import secrets
import time
from functools import cache

from argon2 import PasswordHasher

from manufacturing.accounts.passwords import hasher, verify_password
from manufacturing.core import outside_lock

_seconds_per_hash: dict[int, float] = {}


@cache
def _dummy_hash(password_hasher: PasswordHasher) -> str:
    return password_hasher.hash(secrets.token_urlsafe(24))


def dummy_hash() -> str:
    """Return a hash of a random password made with the configured parameters; no one knows what it hides."""
    return _dummy_hash(hasher())


def verify(password_hash: str, password: str) -> bool:
    """Check a password against a hash, outside SQLite's write lock where the operation can run again.

    Every check of a password, at login and at signing, is this one.
    """
    return outside_lock.answer(("password", password_hash, password), lambda: _timed(password_hash, password))


def _timed(password_hash: str, password: str) -> bool:
    """Check a password against a hash, noting how long a hash takes on this host."""
    started = time.perf_counter()
    accepted = verify_password(password_hash, password)
    elapsed = time.perf_counter() - started
    key = id(hasher())
    _seconds_per_hash[key] = elapsed if key not in _seconds_per_hash else 0.8 * _seconds_per_hash[key] + 0.2 * elapsed
    return accepted


def spend_one_hash(password: str) -> None:
    """Pay for one hash against the dummy (an unknown, locked or deactivated account); the answer is ignored."""
    verify(dummy_hash(), password)


def wait_one_hash() -> None:
    """Wait as long as one hash takes without computing one (an attempt refused unchecked)."""
    seconds = _seconds_per_hash.get(id(hasher()))
    if seconds is None:
        spend_one_hash("")
        return
    time.sleep(seconds)
