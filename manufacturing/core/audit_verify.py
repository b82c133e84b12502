"""Check the audit chain end to end: altered, removed or reordered rows are named."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from manufacturing.core.audit import GENESIS, AuditChainHead, AuditEvent, digest

COLUMNS = ("occurred_at", "user_id", "username", "action", "entity_type", "entity_id", "scope",
           "changes", "reason")


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows_checked: int
    bad_row_id: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"Audit trail intact: {self.rows_checked} rows, chain unbroken."
        return f"Audit trail BROKEN at row {self.bad_row_id}: {self.problem}"


def verify_chain(session: Session) -> ChainReport:
    """Walk the chain in row order and recompute every hash; report the first bad row."""
    table = AuditEvent.__table__
    query = select(table).order_by(table.c.id).execution_options(yield_per=2000)
    previous_hash, previous_id, count = GENESIS, None, 0
    for row in session.execute(query).mappings():
        count += 1
        if row["prev_hash"] != previous_hash:
            after = f"row {previous_id}" if previous_id else "the start of the trail"
            return ChainReport(False, count, row["id"], f"it does not follow {after}: a row was removed, "
                               "inserted or reordered here")
        if digest({key: row[key] for key in COLUMNS}, row["prev_hash"]) != row["hash"]:
            return ChainReport(False, count, row["id"], "its content does not match its hash: it was altered")
        previous_hash, previous_id = row["hash"], row["id"]
    return _check_head(session, previous_hash, previous_id, count)


def _check_head(session: Session, last_hash: str, last_id: int | None, count: int) -> ChainReport:
    head = session.get(AuditChainHead, 1)
    if head is None:
        return ChainReport(False, count, None, "the chain head is missing")
    if head.last_hash != last_hash or head.length != count:
        total = session.scalar(select(func.count()).select_from(AuditEvent))
        return ChainReport(False, count, last_id, f"the chain head expects {head.length} rows ending in "
                           f"{head.last_hash[:12]}, the table has {total}: rows after this one were removed")
    return ChainReport(True, count)
