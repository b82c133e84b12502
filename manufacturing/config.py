"""Settings, read from the environment with safe defaults for the embedded SQLite database."""

import os
from pathlib import Path

DEFAULT_SECRET_KEY = "change-me"
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


def _secret_key() -> str:
    """Take SECRET_KEY from the environment, else from instance/secret_key, else the default."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = INSTANCE_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    return DEFAULT_SECRET_KEY


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    """Production-minded defaults; every value can be overridden from the environment."""

    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'manufacturing.db'}"
    )
    SQLITE_BUSY_TIMEOUT_SECONDS = 30
    SITE_TIMEZONE = os.environ.get("SITE_TIMEZONE", "Europe/Rome")
    SITE_NAME = os.environ.get("SITE_NAME", "Cell Therapy GMP Facility")
    SPECS_DIR = os.environ.get("SPECS_DIR", str(Path(__file__).resolve().parent.parent / "specs"))
    DOCUMENTS_DIR = os.environ.get("DOCUMENTS_DIR", str(INSTANCE_DIR / "documents"))
    # The audit key (hex) seals the trail, signatures and documents; else instance/audit_key (core/keyring.py).
    AUDIT_KEY = os.environ.get("AUDIT_KEY")
    AUDIT_RETIRED_KEYS = os.environ.get("AUDIT_RETIRED_KEYS")

    LOCKOUT_THRESHOLD = _int("LOCKOUT_THRESHOLD", 5)
    IDLE_TIMEOUT_MINUTES = _int("IDLE_TIMEOUT_MINUTES", 15)
    PASSWORD_MIN_LENGTH = _int("PASSWORD_MIN_LENGTH", 12)
    PASSWORD_MAX_AGE_DAYS = _int("PASSWORD_MAX_AGE_DAYS", 90)
    PASSWORD_HISTORY = _int("PASSWORD_HISTORY", 5)
    # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19456
    ARGON2_PARALLELISM = 1
    LATE_ENTRY_MINUTES = _int("LATE_ENTRY_MINUTES", 60)

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    SESSION_COOKIE_NAME = "nk_session"
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 2 * 1024 * 1024


class TestConfig(Config):
    """Fast password hashing, a throw-away secret and a fixed audit key; everything else as in production."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    AUDIT_KEY = "7e57" * 16
    AUDIT_RETIRED_KEYS = None
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
