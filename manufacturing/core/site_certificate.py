"""Whether the site's signing certificate is in place: stored certificates and batch records are signed with it."""

from pathlib import Path

from flask import current_app

MISSING = ("The site's signing certificate is not in place, so the certificate of analysis and the batch record "
           "could not be stored signed. Ask the system administrator to install it (SIGNING_CERT and SIGNING_KEY), "
           "then release again.")


def paths() -> tuple[Path, Path]:
    """The site certificate and its private key, as configured."""
    return Path(current_app.config["SIGNING_CERT"]), Path(current_app.config["SIGNING_KEY"])


def installed() -> bool:
    certificate, key = paths()
    return certificate.is_file() and key.is_file()


def signing_problem() -> str | None:
    """Why documents cannot be stored signed now; a debug or test run without a certificate stores them unsigned."""
    if installed() or current_app.debug or current_app.testing:
        return None
    return MISSING
