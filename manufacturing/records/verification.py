"""Check a PDF file against what the system issued: the site's signature, nothing appended, a stored SHA-256."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from asn1crypto import x509
from sqlalchemy import select

from manufacturing.core import clock, coroutines
from manufacturing.core.site_certificate import paths
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseUnit
from manufacturing.records.models import StoredDocument

if TYPE_CHECKING:  # pyHanko is imported where a file is checked, not with the application
    from pyhanko.sign.validation.status import PdfSignatureStatus


@dataclass(frozen=True)
class Finding:
    """One check on the file, told in plain words."""

    passed: bool
    text: str


def _site_certificate() -> x509.Certificate | None:
    from pyhanko.keys import load_cert_from_pemder

    certificate = paths()[0]
    return load_cert_from_pemder(str(certificate)) if certificate.is_file() else None


def _who(certificate: x509.Certificate) -> str:
    return certificate.subject.human_friendly


def _status_findings(name: str, status: PdfSignatureStatus, site: x509.Certificate, last: bool) -> list[Finding]:
    """What one validated signature tells: integrity, signer, trust and, for the last one, coverage."""
    findings = [Finding(status.intact and status.valid,
                        f"Signature {name}: the signed content is unchanged." if status.intact and status.valid else
                        f"Signature {name} is broken: the signed content was changed after signing.")]
    if status.signing_cert.dump() != site.dump():
        findings.append(Finding(False, f"Signature {name} was made with another certificate "
                                       f"({_who(status.signing_cert)}), not the site's ({_who(site)})."))
    elif status.intact and status.valid and not status.trusted:
        findings.append(Finding(False, f"Signature {name}: the site's certificate does not validate now "
                                       f"({status.trust_problem_indic}); it may have expired."))
    else:
        findings.append(Finding(True, f"Signature {name} was made with the site's certificate ({_who(site)})."))
    if last:
        from pyhanko.sign.validation.status import SignatureCoverageLevel

        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        findings.append(Finding(whole, "Nothing was added to the file after the signature." if whole else
                                "Something was added to the file after the signature: it is not the file as signed."))
    return findings


def signature_findings(content: bytes) -> list[Finding]:
    """Validate every signature in the PDF against the site's certificate, trusted as the only root."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    site = _site_certificate()
    if site is None:
        return [Finding(False, "No site certificate is configured (SIGNING_CERT): the signature cannot be checked.")]
    try:
        signatures = PdfFileReader(io.BytesIO(content), strict=False).embedded_signatures
    except Exception as error:  # any parse failure means the file is not a PDF this system wrote
        return [Finding(False, f"The file is not a readable PDF ({error}).")]
    if not signatures:
        return [Finding(False, "The file carries no signature: it is not a signed document of this site.")]
    context, findings = ValidationContext(trust_roots=[site]), []
    for number, signature in enumerate(signatures, start=1):
        name = f"'{signature.field_name}'"
        try:
            status = coroutines.run(async_validate_pdf_signature(signature, context))
        except Exception as error:  # a damaged signature raises instead of reporting
            findings.append(Finding(False, f"Signature {name} could not be checked ({error})."))
            continue
        findings += _status_findings(name, status, site, number == len(signatures))
    return findings


def describe(document: StoredDocument) -> str:
    """Which stored document this is: kind, lot, dose unit, revision, when stored."""
    lot = db.session.get(Lot, document.lot_id)
    dose = db.session.get(DoseUnit, document.dose_unit_id) if document.dose_unit_id else None
    unit = f", dose unit {lot.lot_number}/{dose.division_code}" if dose is not None else ""
    return (f"{document.kind.title} of lot {lot.lot_number}{unit}, revision {document.revision}, "
            f"stored {clock.format_local(document.created_at)}")


def stored_finding(content: bytes) -> Finding:
    """Whether the file's SHA-256 is that of a document the system stored."""
    digest = hashlib.sha256(content).hexdigest()
    document = db.session.scalars(select(StoredDocument).where(StoredDocument.sha256 == digest)
                                  .order_by(StoredDocument.id)).first()
    if document is None:
        return Finding(False, f"No stored document has this file's SHA-256 ({digest}): the system did not store it.")
    return Finding(True, f"The file is the stored {describe(document)} (SHA-256 {digest}).")


def verify_file(content: bytes) -> list[Finding]:
    """Every check on a file; it is genuine only when all pass."""
    return [*signature_findings(content), stored_finding(content)]
