"""The trial report as a PDF: rendered on request, signed with the site's certificate, stored with its SHA-256.

A request stores a new revision only when the trial's figures changed since the latest; otherwise it is served.
Stored revisions are append-only and sealed: `audit verify` reports one whose bytes or record were replaced.
"""

import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from manufacturing.core import clock, outside_lock, seals
from manufacturing.core.audit_verify import DOCUMENT
from manufacturing.core.errors import DomainError
from manufacturing.core.findings import Finding, replaced_content
from manufacturing.core.keyring import keyring
from manufacturing.records.render import render_pdf
from manufacturing.records.signing import signed
from manufacturing.reports.models import StoredTrialReport
from manufacturing.reports.report import TrialReport, build

SIGNATURE = "Trial report as the records stand, issued on request"


def latest(session: Session) -> StoredTrialReport | None:
    return session.scalars(select(StoredTrialReport).order_by(StoredTrialReport.revision.desc())).first()


def revisions(session: Session) -> list[StoredTrialReport]:
    return list(session.scalars(select(StoredTrialReport).order_by(StoredTrialReport.revision.desc())))


def render(report: TrialReport, revision: int | str, issued_by: str) -> bytes:
    """The report's PDF: pure work on the figures (no database), so that on SQLite it is done outside the
    write lock (core/outside_lock.py) and a site's other writers do not wait for it."""
    issued = clock.to_local(clock.now()).strftime("%Y-%m-%d %H:%M %Z")
    return render_pdf("reports/report_pdf.html", report=report, revision=revision, issued=issued,
                      issued_by=issued_by)


def store(session: Session, user) -> StoredTrialReport:
    """The stored revision of the report as the records stand: the latest if nothing changed, else a new one."""
    report = build(session)
    data_hash, earlier = report.source_hash(), latest(session)
    if earlier is not None and earlier.source_hash == data_hash:
        return earlier
    revision, issued_by = (earlier.revision if earlier else 0) + 1, user.full_name
    content = outside_lock.answer(("trial report", data_hash, revision),
                                  lambda: signed(render(report, revision, issued_by), SIGNATURE))
    stamp = clock.to_local(clock.now()).strftime("%Y%m%d-%H%M")
    stored = StoredTrialReport(revision=revision, source_hash=data_hash, sha256=hashlib.sha256(content).hexdigest(),
                               size=len(content), filename=f"trial-report-r{revision}-{stamp}.pdf", content=content,
                               created_at=clock.now(), created_by_id=user.id, key_id=keyring().current_id)
    stored.mac = seals.report_mac(stored)
    session.add(stored)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise DomainError(f"Revision {revision} of the trial report was stored meanwhile by someone else: "
                          "download it from the list.") from error
    return stored


def intact(stored: StoredTrialReport) -> bool:
    return seals.bytes_intact(stored) and seals.report_sealed(stored)


def replaced_reports(session: Session) -> list[Finding]:
    """Every stored trial report whose bytes, SHA-256 or record no longer match what was sealed at issue."""
    return replaced_content(session, StoredTrialReport, DOCUMENT, lambda stored: (
        f"trial report revision {stored.revision}"), seals.report_sealed, "issue")
