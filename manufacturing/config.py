"""Settings, read from the environment with safe defaults for the embedded SQLite database."""

import os
import tempfile
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
    # On PostgreSQL the owner of the schema migrates; the application runs as a role that may not (README).
    DATABASE_OWNER_URI = os.environ.get("DATABASE_OWNER_URL")
    SQLITE_BUSY_TIMEOUT_SECONDS = 30
    SITE_TIMEZONE = os.environ.get("SITE_TIMEZONE", "Europe/Rome")
    SITE_NAME = os.environ.get("SITE_NAME", "Cell Therapy GMP Facility")
    SPECS_DIR = os.environ.get("SPECS_DIR", str(Path(__file__).resolve().parent.parent / "specs"))
    PLAUSIBLE_FILE = os.environ.get("PLAUSIBLE_FILE", str(Path(__file__).resolve().parent.parent / "specs"
                                                          / "plausible.toml"))
    DOCUMENTS_DIR = os.environ.get("DOCUMENTS_DIR", str(INSTANCE_DIR / "documents"))
    # The site's certificate and key (PEM) that sign stored certificates and batch records; TSA_URL adds a timestamp.
    SIGNING_CERT = os.environ.get("SIGNING_CERT", str(INSTANCE_DIR / "site-certificate.pem"))
    SIGNING_KEY = os.environ.get("SIGNING_KEY", str(INSTANCE_DIR / "site-key.pem"))
    SIGNING_KEY_PASSPHRASE = os.environ.get("SIGNING_KEY_PASSPHRASE") or None
    SIGNING_LOCATION = os.environ.get("SIGNING_LOCATION", "")
    TSA_URL = os.environ.get("TSA_URL") or None
    # Certificates and batch records are stored by a job after the decision commits (records/jobs.py): "worker"
    # (`flask documents worker`, PostgreSQL), "in-process" right after the commit, or "auto" (in-process on SQLite).
    DOCUMENT_JOBS = os.environ.get("DOCUMENT_JOBS", "auto")
    DOCUMENT_JOB_RETRY_SECONDS = _int("DOCUMENT_JOB_RETRY_SECONDS", 30)  # doubled after each failed try
    DOCUMENT_JOB_MAX_ATTEMPTS = _int("DOCUMENT_JOB_MAX_ATTEMPTS", 8)
    DOCUMENT_WORKER_POLL_SECONDS = _int("DOCUMENT_WORKER_POLL_SECONDS", 2)
    # Instrument exports: the largest file imported, and a folder the instruments export into (optional), from
    # which a technician picks a file instead of uploading it.
    INSTRUMENT_EXPORT_MAX_BYTES = _int("INSTRUMENT_EXPORT_MAX_BYTES", 1024 * 1024)  # carried as base64 in a form
    INSTRUMENT_EXPORT_MAX_LINES = _int("INSTRUMENT_EXPORT_MAX_LINES", 5000)  # a run's export, read in seconds
    INSTRUMENT_FCS_MAX_BYTES = _int("INSTRUMENT_FCS_MAX_BYTES", 16 * 1024 * 1024)  # one tube's FCS file, uploaded
    INSTRUMENT_DROP_FOLDER = os.environ.get("INSTRUMENT_DROP_FOLDER") or None
    # The locale the instruments' computers write dates and numbers in (e.g. it_IT: 9/10/2021 is 9 October).
    INSTRUMENT_LOCALE = os.environ.get("INSTRUMENT_LOCALE") or None

    # Signed checkpoints of the audit chain, outside the database (append-only directory, key in a file).
    CHECKPOINT_DIR = os.environ.get("CHECKPOINT_DIR", str(INSTANCE_DIR / "checkpoints"))
    CHECKPOINT_KEY = os.environ.get("CHECKPOINT_KEY", str(INSTANCE_DIR / "checkpoint_key.pem"))
    CHECKPOINT_EVERY_ROWS = _int("CHECKPOINT_EVERY_ROWS", 1000)
    CHECKPOINT_MAX_AGE_HOURS = _int("CHECKPOINT_MAX_AGE_HOURS", 24)
    # `audit verify` warns of a stale checkpoint only past these margins: one large transaction can cross N
    # rows, and a daily timer may run a little late.
    CHECKPOINT_MARGIN_ROWS = _int("CHECKPOINT_MARGIN_ROWS", 250)
    CHECKPOINT_MARGIN_HOURS = _int("CHECKPOINT_MARGIN_HOURS", 2)
    TSA_TIMEOUT_SECONDS = _int("TSA_TIMEOUT_SECONDS", 10)
    # The audit key (hex) seals the trail, signatures and documents; else instance/audit_key (core/keyring.py).
    AUDIT_KEY = os.environ.get("AUDIT_KEY")
    AUDIT_RETIRED_KEYS = os.environ.get("AUDIT_RETIRED_KEYS")
    # `flask audit verify` reads the trail in ranges of this many ids, scanned by this many processes
    # (0: one per core); a trail of one range is scanned in the command's own process.
    AUDIT_VERIFY_CHUNK_ROWS = _int("AUDIT_VERIFY_CHUNK_ROWS", 250_000)
    AUDIT_VERIFY_WORKERS = _int("AUDIT_VERIFY_WORKERS", 0)
    AUDIT_VERIFY_APART_ROWS = _int("AUDIT_VERIFY_APART_ROWS", 50_000)  # records and signatures compared apart
    # On PostgreSQL the trail is verified by blocks of 2**bits ids and the records by blocks of 2**bits ids; an
    # intact verification seals their digests (CHECKPOINT_DIR/verified.seal, signed with the checkpoint key) and
    # the next one reads only the blocks changed since. 0 turns this off: every verification reads everything.
    AUDIT_VERIFY_TRAIL_BLOCK_BITS = _int("AUDIT_VERIFY_TRAIL_BLOCK_BITS", 14)
    AUDIT_VERIFY_RECORD_BLOCK_BITS = _int("AUDIT_VERIFY_RECORD_BLOCK_BITS", 10)

    LOCKOUT_THRESHOLD = _int("LOCKOUT_THRESHOLD", 5)
    IDLE_TIMEOUT_MINUTES = _int("IDLE_TIMEOUT_MINUTES", 15)
    SESSION_ABSOLUTE_HOURS = _int("SESSION_ABSOLUTE_HOURS", 12)
    # Failed logins per account name and per client address: free tries, then waits of
    # FIRST, 2 x FIRST, 4 x FIRST ... seconds up to MAX; the count is forgotten after WINDOW without a failure.
    LOGIN_THROTTLE_ACCOUNT_FREE = _int("LOGIN_THROTTLE_ACCOUNT_FREE", 3)
    LOGIN_THROTTLE_ADDRESS_FREE = _int("LOGIN_THROTTLE_ADDRESS_FREE", 10)
    LOGIN_THROTTLE_FIRST_WAIT_SECONDS = _int("LOGIN_THROTTLE_FIRST_WAIT_SECONDS", 2)
    LOGIN_THROTTLE_MAX_WAIT_SECONDS = _int("LOGIN_THROTTLE_MAX_WAIT_SECONDS", 900)
    LOGIN_THROTTLE_WINDOW_MINUTES = _int("LOGIN_THROTTLE_WINDOW_MINUTES", 60)
    PASSWORD_MIN_LENGTH = _int("PASSWORD_MIN_LENGTH", 12)
    PASSWORD_MAX_AGE_DAYS = _int("PASSWORD_MAX_AGE_DAYS", 90)
    PASSWORD_HISTORY = _int("PASSWORD_HISTORY", 5)
    # Without a minimum age the history is cycled by quick changes; a setup code is exempt.
    PASSWORD_MIN_AGE_HOURS = _int("PASSWORD_MIN_AGE_HOURS", 24)
    SETUP_CODE_HOURS = _int("SETUP_CODE_HOURS", 24)
    # OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
    ARGON2_TIME_COST = 2
    ARGON2_MEMORY_COST = 19456
    ARGON2_PARALLELISM = 1
    LATE_ENTRY_MINUTES = _int("LATE_ENTRY_MINUTES", 60)
    # Rows on one page of a list (lots, deviations, materials, subjects, users, alerts) and of the audit trail.
    LIST_PAGE_SIZE = _int("LIST_PAGE_SIZE", 50)
    AUDIT_PAGE_SIZE = _int("AUDIT_PAGE_SIZE", 100)
    HOME_QUEUE_ROWS = _int("HOME_QUEUE_ROWS", 8)  # the first rows of each home queue; the rest are counted
    HOME_QUEUE_MOST_COUNTED = _int("HOME_QUEUE_MOST_COUNTED", 99)  # beyond it a queue's count reads "99+"
    INACTIVE_ACCOUNT_DAYS = _int("INACTIVE_ACCOUNT_DAYS", 90)  # the admin's home lists accounts unused this long
    # Lot pages and QA reviews, rendered once per version of their data and reader, kept per worker (0: off).
    PAGE_CACHE_BYTES = _int("PAGE_CACHE_BYTES", 32 * 1024 * 1024)
    PAGE_CACHE_SECONDS = _int("PAGE_CACHE_SECONDS", 60)  # a change behind the application's back shows after it

    # Reverse proxies in front of the application (e.g. 1 for nginx terminating HTTPS): the client address
    # that login throttling counts is then taken from X-Forwarded-For. 0 means clients connect directly.
    PROXIES_IN_FRONT = _int("PROXIES_IN_FRONT", 0)

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
    DOCUMENT_JOBS = "in-process"  # on PostgreSQL too; the tests of the worker run it themselves
    # Never the instance directory: the test fixtures give each run its key and each test its directory.
    CHECKPOINT_DIR = str(Path(tempfile.gettempdir()) / f"nk-test-checkpoints-{os.getpid()}")
    CHECKPOINT_KEY = str(Path(tempfile.gettempdir()) / f"nk-test-checkpoint-key-{os.getpid()}.pem")
