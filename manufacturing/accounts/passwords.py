"""Password hashing (argon2id) and the password policy."""

import gzip
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from zxcvbn import zxcvbn

from manufacturing.core import clock

BREACHED_LIST = "data/breached-passwords-top-100000.txt.gz"
SITE_WORDS = ("cleanroom", "nk", "gmp", "nkcell", "manufacturing", "batch", "release", "pharmacy", "qa")
MINIMUM_STRENGTH = 3  # zxcvbn score 0..4: 3 is "safely unguessable", about 10^8 guesses and more


@cache
def breached_passwords() -> frozenset[str]:
    """Load the bundled list of passwords exposed in breaches, lower-cased (see data/README.md)."""
    raw = resources.files("manufacturing.accounts").joinpath(BREACHED_LIST).read_bytes()
    return frozenset(gzip.decompress(raw).decode("utf-8", "replace").lower().split())


def _guessability_problem(password: str, user_words: list[str]) -> str | None:
    """Name why the password is easy to guess (zxcvbn score below 3), or None."""
    result = zxcvbn(password[:100], user_inputs=[*user_words, *SITE_WORDS])
    if result["score"] >= MINIMUM_STRENGTH:
        return None
    warning = result["feedback"]["warning"].rstrip(".").lower()
    hint = "use two or three uncommon words, since a year, capitals or a final '!' add little"
    return f"it is too easy to guess ({warning}); {hint}" if warning else f"it is too easy to guess; {hint}"


@cache
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def hasher() -> PasswordHasher:
    config = current_app.config
    return _hasher(config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def policy_problems(password: str, username: str, full_name: str = "") -> list[str]:
    """List what makes a new password unacceptable, in plain words; empty when it is fine."""
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    problems = []
    if len(password) < minimum:
        problems.append(f"use at least {minimum} characters")
    lowered = password.lower()
    if username and username.lower() in lowered:
        problems.append("do not include your user ID")
    if any(len(part) >= 3 and part.lower() in lowered for part in full_name.split()):
        problems.append("do not include your name")
    if len(set(password)) < 5:
        problems.append("use at least 5 different characters")
    if lowered in breached_passwords():
        problems.append("it is on a public list of passwords exposed in data breaches, which attackers try first")
    elif problem := _guessability_problem(password, [username, *full_name.split()]):
        problems.append(problem)
    return problems


def too_soon_problem(changed_at: datetime) -> str | None:
    """Refuse a change before the minimum age, so that quick changes cannot cycle through the history."""
    hours = current_app.config["PASSWORD_MIN_AGE_HOURS"]
    earliest = changed_at + timedelta(hours=hours)
    if clock.now() >= earliest:
        return None
    return (f"Your password was changed less than {hours} hours ago; it can be changed again from "
            f"{clock.format_local(earliest)}. If someone else may know it, ask an administrator to reset it.")
