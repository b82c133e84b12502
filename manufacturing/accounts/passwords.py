"""Password hashing (argon2id) and the password policy."""

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

COMMON_PASSWORDS = frozenset({
    "password", "passw0rd", "password1", "password12", "password123", "password1234",
    "123456789012", "1234567890ab", "qwertyuiop12", "qwerty123456", "letmein12345", "welcome12345",
    "administrator", "changeme1234", "iloveyou1234", "abcdefghijkl", "abc123abc123",
    "111111111111", "000000000000", "aaaaaaaaaaaa", "monkey123456", "dragon123456", "football1234",
    "baseball1234", "sunshine1234", "princess1234", "trustno1trustno1", "cleanroom123",
    "laboratory12",
})


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
    if lowered in COMMON_PASSWORDS:
        problems.append("choose a less common password")
    return problems
