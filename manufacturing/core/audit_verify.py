"""Check the audit trail, signatures, stored documents and audited records; name every finding.

Every audit row carries a MAC of its content and a keyed link to the row before it; the chain head
carries a MAC of its length and last link. Without the key nobody can make a seal, so a row whose seal
fails was altered or forged, a link that fails or does not follow was rewritten or broken, and a head
that fails was set by hand. Signatures and stored documents carry seals of their own, and every
audited record must still hold what its trail last recorded.
"""

from dataclasses import dataclass

from blinker import Namespace
from sqlalchemy import select
from sqlalchemy.orm import Session

from manufacturing.core import seals
from manufacturing.core.audit import GENESIS, AuditChainHead, AuditEvent
from manufacturing.core.audit_replay import edited_records
from manufacturing.core.checkpoints import WARNING_KINDS, verify_checkpoints
from manufacturing.core.findings import Finding
from manufacturing.core.keyring import UNKEYED, Keyring, keyring
from manufacturing.core.signatures import Signature

ALTERED = "ALTERED row"
FORGED = "FORGED row"
RELINKED = "RE-LINKED chain"
TRUNCATED = "TRUNCATED tail / head mismatch"
SIGNATURE = "ALTERED signature"
DOCUMENT = "REPLACED document"
EDITED = "RECORD EDITED OUTSIDE THE APPLICATION"

verifying = Namespace().signal("audit-verify")
"""Sent with the session while the trail is verified; each receiver returns the findings of its layer
(records: stored documents)."""



@dataclass(frozen=True)
class Report:
    """What `audit verify` found: nothing, or every finding in order."""

    rows_checked: int
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        """Intact: nothing found but warnings (a stale or unstamped checkpoint says nothing was tampered with)."""
        return all(finding.kind in WARNING_KINDS for finding in self.findings)

    @property
    def kinds(self) -> set[str]:
        return {finding.kind for finding in self.findings}

    @property
    def summary(self) -> str:
        if self.ok and self.findings:
            return (f"Audit trail intact: {self.rows_checked} rows, with {len(self.findings)} warning(s) "
                    "about its checkpoints.")
        if self.ok:
            return (f"Audit trail intact: {self.rows_checked} rows, chain unbroken; signatures, "
                    "stored documents and audited records agree with it.")
        return f"Audit trail NOT intact: {len(self.findings)} finding(s) in {self.rows_checked} rows."

    def __str__(self) -> str:
        return "\n".join([self.summary] + [str(finding) for finding in self.findings])


@dataclass(frozen=True)
class _Row:
    """One audit row as read, with what its seals say."""

    id: int
    prev_hash: str
    hash: str
    key_id: str
    content_sealed: bool
    link_sealed: bool


def verify_chain(session: Session) -> Report:
    """Check the chain, its head, signatures, documents, records and checkpoints; report every finding."""
    events = list(session.execute(select(AuditEvent.__table__).order_by(AuditEvent.id)).mappings())
    head = session.get(AuditChainHead, 1)
    ring = keyring()
    rows = [_read(event, ring) for event in events]
    findings = _chain_findings(rows, _sealed_length(head)) + _head_findings(head, rows)
    findings += _signature_findings(session) + _layer_findings(session)
    findings += [Finding(EDITED, where, detail) for where, detail in edited_records(session, events)]
    findings += checkpoint_findings(session)
    return Report(len(rows), tuple(findings))


def verify_as_of_now(session: Session) -> Report:
    """Verify in a transaction of its own that sees one snapshot (rows and head as of one moment)."""
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    try:
        return verify_chain(session)
    finally:
        session.rollback()


def _layer_findings(session: Session) -> list[Finding]:
    return [finding for _, found in verifying.send(session) for finding in found]


def checkpoint_findings(session: Session) -> list[Finding]:
    """The signed checkpoints kept outside the database (core/checkpoints.py)."""
    return list(verify_checkpoints(session))


def _read(event, ring: Keyring) -> _Row:
    key_id = event["key_id"]
    if key_id == UNKEYED:
        sealed = seals.unkeyed_digest(event, event["prev_hash"]) == event["hash"]
        return _Row(event["id"], event["prev_hash"], event["hash"], key_id, sealed, sealed)
    content = ring.matches(seals.row_content(event), key_id, event["mac"])
    link = ring.matches(seals.row_link(event["prev_hash"], event["mac"]), key_id, event["hash"])
    return _Row(event["id"], event["prev_hash"], event["hash"], key_id, content, link)


def _sealed_length(head: AuditChainHead | None) -> int:
    """How many rows a genuine head vouches for; none when the head is missing or was set by hand."""
    return head.length if head is not None and _head_sealed(head) else 0


def _head_sealed(head: AuditChainHead) -> bool:
    return head.key_id in keyring().keys and head.mac == seals.head_mac(head.length, head.last_hash, head.key_id)


def _chain_findings(rows: list[_Row], sealed_length: int) -> list[Finding]:
    """Classify every row that is not a sealed row following its predecessor."""
    last_genuine = max((index for index, row in enumerate(rows) if row.content_sealed), default=-1)
    keyed_seen, previous, problems = False, None, []
    for index, row in enumerate(rows):
        inside = index < sealed_length or index < last_genuine
        problem = _row_problem(row, previous, keyed_seen, inside)
        if problem:
            problems.append((index, row.id, *problem))
        keyed_seen = keyed_seen or row.key_id != UNKEYED
        previous = row
    return _grouped(problems)


def _grouped(problems: list[tuple[int, int, str, str]]) -> list[Finding]:
    """One finding per run of adjacent rows with the same problem (a re-hashed tail is one finding)."""
    runs: list[list[tuple]] = []
    for problem in problems:
        last = runs[-1][-1] if runs else None
        if last is not None and problem[0] == last[0] + 1 and problem[2:] == last[2:]:
            runs[-1].append(problem)
        else:
            runs.append([problem])
    return [Finding(run[0][2], _rows_named(run[0][1], run[-1][1], len(run)), run[0][3]) for run in runs]


def _rows_named(first: int, last: int, count: int) -> str:
    return f"audit row {first}" if count == 1 else f"audit rows {first} to {last} ({count} rows)"


def _row_problem(row: _Row, previous: _Row | None, keyed_seen: bool, inside: bool) -> tuple[str, str] | None:
    if row.key_id != UNKEYED and row.key_id not in keyring().keys:
        return FORGED, (f"sealed with key id '{row.key_id}', which is not in the keyring: a forgery, "
                        "or a retired key was removed")
    if row.key_id == UNKEYED and keyed_seen:
        return FORGED, "claims to predate the keyed trail but stands after keyed rows"
    if not row.content_sealed:
        if row.link_sealed or inside:
            return ALTERED, "its content does not match its MAC: it was changed after it was written"
        return FORGED, "its MAC is invalid and no sealed row or head vouches for it: not written by the application"
    if not row.link_sealed:
        return RELINKED, "its link to the row before was rewritten without the key (rows removed, inserted or moved)"
    expected = previous.hash if previous else GENESIS
    if row.prev_hash != expected:
        after = f"row {previous.id}" if previous else "the start of the trail"
        return RELINKED, f"it does not follow {after}: a row before it was removed or the rows were reordered"
    return None


def _head_findings(head: AuditChainHead | None, rows: list[_Row]) -> list[Finding]:
    count, last = len(rows), rows[-1].hash if rows else GENESIS
    if head is None:
        return [Finding(TRUNCATED, "chain head", "the chain head is missing")]
    if not _head_sealed(head):
        return [Finding(TRUNCATED, "chain head", f"the head (length {head.length}, last link "
                        f"{head.last_hash[:12]}) does not match its MAC: it was set by hand")]
    if head.length == count and head.last_hash == last:
        return []
    if head.length > count:
        detail = f"the sealed head counts {head.length} rows, the table holds {count}: rows were removed"
    else:
        detail = (f"the sealed head counts {head.length} rows ending in {head.last_hash[:12]}, the table holds "
                  f"{count} ending in {last[:12]}: rows were added or the head was set back")
    return [Finding(TRUNCATED, "chain head", detail)]


def _signature_findings(session: Session) -> list[Finding]:
    return [Finding(SIGNATURE, f"signature {signature.id} on {signature.entity_type} {signature.entity_id}",
                    "its binding MAC does not match its signer, printed name, meaning, time or record")
            for signature in session.scalars(select(Signature).order_by(Signature.id))
            if not seals.binding_intact(signature)]

