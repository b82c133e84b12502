"""Certificate of analysis of a dose unit, as a PDF issued from QA's latest signed disposition.

The certificate states what QA signed: the certificate data stored with the disposition, never
values read again from the records. It is stored at the release (once per disposition and per state of
its signatures) and afterwards served from storage, so the same certificate always has the same bytes;
reading it never stores a revision.
A rejected unit has no certificate: certificates issued before the rejection stay in storage.
"""

import json
from dataclasses import asdict, dataclass, field

from flask import current_app

from manufacturing.core import clock
from manufacturing.core.signatures import Meaning, is_intact, manifestation, signatures_of
from manufacturing.lots.din import parse as parse_din
from manufacturing.processing.models import DoseUnit
from manufacturing.records import storage
from manufacturing.records.models import DocumentKind, StoredDocument
from manufacturing.records.render import render_pdf
from manufacturing.records.versions import disposition_changed_since, disposition_version
from manufacturing.release.certificate import Certificate
from manufacturing.release.models import Disposition
from manufacturing.release.operations import require_certificate

TEMPLATE = "records/coa.html"


@dataclass(frozen=True)
class SignatureLine:
    """One signature as printed: its manifestation (name, user ID, meaning, local time) and whether intact."""

    printed_name: str
    meaning: str
    signed_at: str
    manifestation: str
    intact: bool


@dataclass(frozen=True)
class CoaData:
    """Everything the certificate of analysis shows."""

    site_name: str
    certificate: Certificate
    din_grouped: str
    din_check: str
    disposition_id: int
    decision: str
    decided_at: str
    justification: str | None
    physician_name: str | None
    physician_acknowledged_on: str | None
    signatures: list[SignatureLine] = field(default_factory=list)
    standing: str = "STANDING"  # or SUPERSEDED (by a later certificate), WITHDRAWN (a failing result, rejection)
    ended: str | None = None  # when and why it no longer stands

    @property
    def interim(self) -> bool:
        return self.certificate.kind == "interim" and self.standing == "STANDING"

    @property
    def withdrawn(self) -> bool:
        return self.standing == "WITHDRAWN"

    @property
    def superseded(self) -> bool:
        return self.standing == "SUPERSEDED"

    @property
    def kind_title(self) -> str:
        return "WITHDRAWN" if self.withdrawn else self.certificate.kind.upper()

    @property
    def filename(self) -> str:
        return f"coa-{self.certificate.lot_number}-{self.certificate.division}-{self.certificate.kind}.pdf"


def _signature_lines(disposition: Disposition) -> list[SignatureLine]:
    return [SignatureLine(printed_name=signature.printed_name, meaning=signature.meaning.title,
                          signed_at=clock.format_local(signature.signed_at), manifestation=manifestation(signature),
                          intact=is_intact(signature, disposition))
            for signature in signatures_of(disposition)]


def coa_data(disposition: Disposition, site_name: str) -> CoaData:
    """Write out the certificate of a disposition with its signatures as they stand now."""
    certificate = Certificate.from_dict(json.loads(disposition.certificate))
    din = parse_din(certificate.din)
    acknowledged = disposition.physician_acknowledged_on
    return CoaData(
        site_name=site_name, certificate=certificate, din_grouped=din.grouped, din_check=din.check,
        disposition_id=disposition.id, decision=disposition.decision.title,
        decided_at=clock.format_local(disposition.decided_at), justification=disposition.justification,
        physician_name=disposition.physician_name,
        physician_acknowledged_on=acknowledged.isoformat() if acknowledged else None,
        signatures=_signature_lines(disposition), standing=disposition.state.name,
        ended=(f"{clock.format_local(disposition.ended_at)}: {disposition.ended_reason}"
               if disposition.ended_at is not None else None),
    )


def _current(dose: DoseUnit, disposition: Disposition | None = None) -> tuple[Disposition, CoaData, str]:
    """The certificate data of a disposition (the dose's latest by default) as they stand, with their hash."""
    disposition = disposition or require_certificate(dose)
    data = coa_data(disposition, current_app.config["SITE_NAME"])
    return disposition, data, storage.source_hash(asdict(data))


def _render(data: CoaData, revision) -> bytes:
    return render_pdf(TEMPLATE, coa=data, revision=revision, issued=clock.format_local(clock.now()))


def signature_reason(data: CoaData) -> str:
    """The reason the site's PDF signature states: who in QA released the unit, with the meaning they signed."""
    released = [line for line in data.signatures if line.meaning == Meaning.RELEASED.title] or data.signatures
    reason = f"Released by QA: {released[-1].printed_name}, {released[-1].meaning}" if released else "Released by QA"
    return reason if data.standing == "STANDING" else f"{reason}; {data.standing.lower()} since"


def coa_pdf(dose: DoseUnit, user=None, disposition: Disposition | None = None) -> StoredDocument:
    """Return the stored certificate of a disposition (the dose's latest by default), issuing it first if new."""
    disposition = disposition or require_certificate(dose)
    version = disposition_version(dose.lot_id, disposition.id)
    disposition, data, data_hash = _current(dose, disposition)
    reason = f"{data.certificate.kind} certificate of disposition {disposition.id}"
    if data.standing != "STANDING":
        reason += f", {data.standing.lower()}"
    return storage.issue(DocumentKind.CERTIFICATE, dose.lot, dose, data_hash, lambda revision: _render(data, revision),
                         data.filename, user, reason, signature=signature_reason(data), data_version=version)


def release_signature_reason(dose: DoseUnit, disposition: Disposition | None = None) -> str:
    """The signature reason of a certificate (the dose's current one), also stated on the batch record with it."""
    return signature_reason(_current(dose, disposition)[1])


def coa_copy(dose: DoseUnit) -> storage.Download:
    """Read the certificate, storing nothing: the stored revision if unchanged, else a copy marked not stored.

    Whether the stored revision is unchanged is known from its disposition's data version, without rebuilding.
    """
    disposition = require_certificate(dose)
    stored = storage.unchanged(DocumentKind.CERTIFICATE, dose.lot, dose,
                               lambda version: disposition_changed_since(dose.lot_id, disposition.id, version))
    if stored is not None:
        return storage.Download(stored.content, stored.filename, stored.sha256)
    _, data, data_hash = _current(dose, disposition)
    return storage.read(DocumentKind.CERTIFICATE, dose.lot, dose, data_hash, lambda revision: _render(data, revision),
                        data.filename)
