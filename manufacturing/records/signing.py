"""The site's PAdES signature on stored certificates and batch records (B-B, or B-T when a TSA is configured).

The signature field is invisible: the page already prints QA's signatures with name, meaning and time (11.50),
and a visible stamp would be drawn by pyHanko in a font not embedded in the file, which PDF/A forbids.
Readers list the signature, its signer, reason and location in their signature panel.
pyHanko does not enforce PDF/A: the signature is appended as an incremental update, which PDF/A-3 allows,
the original PDF/A-3b revision is kept byte for byte, the invisible widget has a zero-size rectangle and the
print flag, and pyHanko updates the XMP metadata it finds (PDF/A identification kept).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from flask import current_app

from manufacturing.core import coroutines
from manufacturing.core.errors import DomainError
from manufacturing.core.site_certificate import installed, paths, signing_problem

if TYPE_CHECKING:  # pyHanko is imported where a document is signed, not with the application
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers, timestamps

FIELD_NAME = "SiteSignature"


class SigningRefused(DomainError):
    """The document could not be signed with the site's certificate."""


def site_signer() -> signers.SimpleSigner:
    """Load the site's certificate and key; refuse in the lab's words when they cannot be read."""
    from pyhanko.sign import signers

    certificate, key = paths()
    passphrase = current_app.config["SIGNING_KEY_PASSPHRASE"]
    signer = signers.SimpleSigner.load(str(key), str(certificate),
                                       key_passphrase=passphrase.encode() if passphrase else None)
    if signer is None:
        raise SigningRefused("The site's signing key could not be read (wrong file or passphrase): the document "
                             "was not stored. Ask the system administrator to check SIGNING_KEY.")
    return signer


def _metadata(reason: str) -> signers.PdfSignatureMetadata:
    from pyhanko.sign import fields, signers

    site = current_app.config["SITE_NAME"]
    return signers.PdfSignatureMetadata(
        field_name=FIELD_NAME, name=site, reason=reason, location=current_app.config["SIGNING_LOCATION"] or site,
        subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256")


def _timestamper() -> timestamps.HTTPTimeStamper | None:
    from pyhanko.sign import timestamps

    url = current_app.config["TSA_URL"]
    return timestamps.HTTPTimeStamper(url) if url else None


def _producer_as_in_xmp(writer: IncrementalPdfFileWriter) -> None:
    """Name pyHanko as producer in the Info dictionary too, as it does in the XMP: PDF/A wants both to agree."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.metadata.model import VENDOR

    info = writer.trailer["/Info"]
    info[generic.NameObject("/Producer")] = generic.TextStringObject(VENDOR)
    writer.update_container(info)


def sign_pdf(content: bytes, reason: str) -> bytes:
    """Sign a PDF with the site's certificate, the reason shown in the signature."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import signers

    writer = IncrementalPdfFileWriter(io.BytesIO(content))
    _producer_as_in_xmp(writer)
    signing = signers.async_sign_pdf(writer, _metadata(reason), signer=site_signer(), timestamper=_timestamper())
    return coroutines.run(signing).getvalue()


def signed(content: bytes, reason: str | None) -> bytes:
    """The bytes to store: signed when a reason is given (labels have none), unsigned only in a test or debug run."""
    if reason is None:
        return content
    if (problem := signing_problem()):
        raise SigningRefused(problem)
    return sign_pdf(content, reason) if installed() else content
