"""The application as gunicorn serves it, with each check of a password against an account's hash counted in a file."""

import os

from manufacturing.accounts import equal_time
from wsgi import app

__all__ = ["app"]

HASH_CHECKS_FILE = os.environ.get("HASH_CHECKS_FILE")

if HASH_CHECKS_FILE:
    _verify_password = equal_time.verify_password

    def _counted(password_hash: str, password: str) -> bool:
        """Append one byte per check: appends from every worker land whole, so the size is the count."""
        if password_hash == equal_time.dummy_hash():  # the time a refusal pays, checking nothing
            return _verify_password(password_hash, password)
        descriptor = os.open(HASH_CHECKS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, b".")
        finally:
            os.close(descriptor)
        return _verify_password(password_hash, password)

    equal_time.verify_password = _counted
