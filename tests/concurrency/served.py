"""The application as gunicorn serves it, with each password-hash check of a login counted in a file."""

import os

from manufacturing.accounts import operations
from wsgi import app

__all__ = ["app"]

HASH_CHECKS_FILE = os.environ.get("HASH_CHECKS_FILE")

if HASH_CHECKS_FILE:
    _verify_password = operations.verify_password

    def _counted(password_hash: str, password: str) -> bool:
        """Append one byte per check: appends from every worker land whole, so the size is the count."""
        descriptor = os.open(HASH_CHECKS_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, b".")
        finally:
            os.close(descriptor)
        return _verify_password(password_hash, password)

    operations.verify_password = _counted
