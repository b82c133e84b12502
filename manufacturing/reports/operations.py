"""Exports as audited acts: who took which data, when, and the SHA-256 of what left the system."""

from hashlib import sha256

from sqlalchemy.orm import Session

from manufacturing.core.audit import record_event
from manufacturing.core.errors import DomainError
from manufacturing.reports.export import BY_NAME, Written, trial_zip, write_table

SCOPE = "trial"


def export_table(session: Session, name: str) -> Written:
    """One table as CSV; the export is recorded in the audit trail with its row count and SHA-256."""
    table = BY_NAME.get(name)
    if table is None:
        raise DomainError(f"There is no table {name!r} to export.")
    written = write_table(session, table)
    record_event(session, "export.table", "export", table.name,
                 {"file": {"new": table.filename}, "rows": {"new": written.rows}, "sha256": {"new": written.sha256}},
                 scope=SCOPE)
    return written


def export_trial(session: Session) -> tuple[bytes, dict]:
    """The whole trial as a zip; recorded in the audit trail with the SHA-256 of the zip and of every file in it."""
    content, described = trial_zip(session)
    files = {item["file"]: {"rows": item["rows"], "sha256": item["sha256"]} for item in described["files"]}
    record_event(session, "export.trial", "export", "trial",
                 {"sha256": {"new": sha256(content).hexdigest()}, "files": {"new": files}}, scope=SCOPE)
    return content, described
