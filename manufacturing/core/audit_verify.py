"""Check the audit trail, signatures, stored documents and audited records; name every finding.

Every audit row carries a MAC of its content and a keyed link to the row before it; the chain head
carries a MAC of its length and last link. Without the key nobody can make a seal, so a row whose seal
fails was altered or forged, a link that fails or does not follow was rewritten or broken, and a head
that fails was set by hand. Signatures and stored documents carry seals of their own, and every
audited record must still hold what its trail last recorded.
"""

import os
from dataclasses import dataclass
from functools import partial

from blinker import Namespace
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from manufacturing.core import clock, seals
from manufacturing.core.audit import GENESIS, AuditChainHead, AuditEvent
from manufacturing.core.audit_apart import Part, found_in_parts
from manufacturing.core.audit_replay import audited_classes, edited_of, trail_ids
from manufacturing.core.audit_scan import RangeScan, merged, plan, scan_trail, utc_text
from manufacturing.core.audit_seal import rules_digest
from manufacturing.core.audit_since import EVERY_BLOCK, Blocks, Since, edited_in_blocks, in_blocks
from manufacturing.core.checkpoints import (
    WARNING_KINDS,
    compare_checkpoints,
    read_checkpoints,
    signed_lengths,
)
from manufacturing.core.database import reading
from manufacturing.core.findings import Finding
from manufacturing.core.keyring import UNKEYED, keyring
from manufacturing.core.serialize import column_reads
from manufacturing.core.signatures import Signature

ALTERED = "ALTERED row"
FORGED = "FORGED row"
RELINKED = "RE-LINKED chain"
TRUNCATED = "TRUNCATED tail / head mismatch"
SIGNATURE = "ALTERED signature"
DOCUMENT = "REPLACED document"
EDITED = "RECORD EDITED OUTSIDE THE APPLICATION"
SIGNATURE_FIELDS = ("id", "entity_type", "entity_id", "content_hash", "signer_id", "username", "printed_name",
                    "meaning", "signed_at", "record_version", "scope", "key_id", "binding_hash")  # binding_intact reads
UNKEYED_AFTER_KEYED = "claims to predate the keyed trail but stands after keyed rows"

verifying = Namespace().signal("audit-verify")
"""Sent with the session while the trail is verified; each receiver returns the findings of its layer
(records: stored documents)."""



@dataclass(frozen=True)
class Report:
    """What `audit verify` found: nothing, or every finding in order."""

    rows_checked: int
    findings: tuple[Finding, ...] = ()
    rows_known: int = 0  # of them, unchanged since the last intact verification: known by their digests

    @property
    def how(self) -> str:
        if not self.rows_known:
            return ""
        return (f" ({self.rows_known} unchanged since the last intact verification, known by their digests; "
                f"{self.rows_checked - self.rows_known} read row by row)")

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
            return (f"Audit trail intact: {self.rows_checked} rows{self.how}, with {len(self.findings)} warning(s) "
                    "about its checkpoints.")
        if self.ok:
            return (f"Audit trail intact: {self.rows_checked} rows{self.how}, chain unbroken; signatures, "
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


@dataclass(frozen=True)
class _Chain:
    """The chain as its ranges tell it: length, last link, first keyed row, last genuine row."""

    count: int
    last_hash: str
    first_keyed: int | None
    last_genuine: int


def verify_chain(session: Session, *, chunk_rows: int | None = None, workers: int = 1,
                 apart_from_rows: int = 0, blocks: Blocks | None = None) -> Report:
    """Check the chain, its head, signatures, documents, records and checkpoints; report every finding.

    The trail is read in ranges of `chunk_rows` rows; with more than one worker, and committed data, each
    range is scanned by a process of its own, and records and signatures are compared in processes of their
    own when they are at least `apart_from_rows` (below, starting the processes costs more than it saves).
    With `blocks` on PostgreSQL, the trail and the records are read by blocks, those unchanged since the last
    seal are known by their digests, and a verification that finds the trail intact seals what it saw.
    """
    head = session.get(AuditChainHead, 1)
    checkpoint_files, trusted = read_checkpoints(session)
    wanted = signed_lengths(trusted or {})
    since = _since(session, blocks, wanted, workers)
    tasks = since.tasks if since else plan(session.connection(), chunk_rows, wanted, workers if workers > 1 else None)
    scanned = scan_trail(session, keyring().keys, tasks, workers, since.blocks.records if since else None)
    scans = since.scans(scanned) if since else scanned
    chain = _chain(scans)
    findings = _chain_findings(scans, chain, _sealed_length(head)) + _head_findings(head, chain)
    findings += _unkeyed_findings(session)
    parts = _parts_since(since, scanned) if since and since.seal else _comparisons(merged(scans))
    apart = workers if sum(part.rows for part in parts) >= apart_from_rows else 1
    signatures, *records = found_in_parts(session, parts, apart)
    findings += signatures + _layer_findings(session)
    findings += [Finding(EDITED, where, detail) for found in records for where, detail in found]
    findings += checkpoint_files
    if trusted is not None:
        rows_at = {position: row for scan in scans for position, row in scan.rows_at.items()}
        findings += compare_checkpoints(session, trusted, rows_at, chain.count)
    report = Report(chain.count, tuple(findings), since.rows_known if since else 0)
    if since and all(finding.kind in WARNING_KINDS for finding in findings):
        since.write(session, scans, clock.now().isoformat())
    return report


def _since(session: Session, blocks: Blocks | None, wanted: frozenset[int], workers: int) -> Since | None:
    """Where this verification starts from: the last seal, on PostgreSQL when verifying by blocks."""
    if blocks is None or session.get_bind().dialect.name != "postgresql":
        return None
    classes = audited_classes()
    return Since.start(session, blocks, wanted, workers, tuple(sorted(keyring().keys)), _rules(blocks, classes),
                       classes)


def _rules(blocks: Blocks, classes: list[type]) -> str:
    """What the comparisons depend on besides the data: the blocks, each class's compared and hidden columns."""
    dialect = postgresql.dialect()
    return rules_digest(blocks.trail, blocks.records, SIGNATURE_FIELDS, [(cls.audit_entity(), cls.__tablename__,
                                                    [name for name, _, _ in column_reads(cls, dialect,
                                                                                         cls.__audit_exclude__)],
                                                    sorted(cls.__audit_mask__)) for cls in classes])


def _parts_since(since: Since, scanned: list[RangeScan]) -> list[Part]:
    """The signatures and records of the blocks to compare (changed, new or touched since the seal)."""
    classes = audited_classes()
    touched = since.touched(scanned)
    signed = since.open_blocks(Signature, touched)
    bits = since.blocks.records
    signatures = Part(_rows_in(since, Signature, signed),
                      partial(_signature_findings, where=in_blocks(Signature, bits, signed)))
    records = [Part(_rows_in(since, cls, opened), partial(edited_in_blocks, cls=cls, bits=bits, blocks=opened))
               for cls in classes if (opened := since.open_blocks(cls, touched)) is EVERY_BLOCK or opened]
    return [signatures, *records]


def _rows_in(since: Since, cls: type, blocks: set | None) -> int:
    counts = since.tables.get(cls.__tablename__) or {}
    return sum(rows for block, (rows, _) in counts.items() if blocks is EVERY_BLOCK or block in blocks)


def verify_as_of_now(session: Session, *, whole: bool = False) -> Report:
    """Verify in a transaction of its own that sees one snapshot (rows and head as of one moment); from the last
    seal, unless `whole` (every row read and checked again)."""
    session.rollback()
    config = current_app.config
    with reading():  # on SQLite, a snapshot of its own without the write lock: writers go on meanwhile
        if session.get_bind().dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        try:
            return verify_chain(session, chunk_rows=config["AUDIT_VERIFY_CHUNK_ROWS"],
                                workers=config["AUDIT_VERIFY_WORKERS"] or os.cpu_count() or 1,
                                apart_from_rows=config["AUDIT_VERIFY_APART_ROWS"], blocks=_blocks(config, whole))
        finally:
            session.rollback()


def _blocks(config, whole: bool) -> Blocks | None:
    """The blocks to verify by, as configured (a whole verification reads all of them and seals them anew)."""
    trail, records = config["AUDIT_VERIFY_TRAIL_BLOCK_BITS"], config["AUDIT_VERIFY_RECORD_BLOCK_BITS"]
    return Blocks(trail, records, from_seal=not whole) if trail and records else None


def _comparisons(trail: dict) -> list[Part]:
    """The signatures' seals, then each audited class's records against their replayed trail (most rows first)."""
    kept = trail_ids(trail)
    records = [Part(len(kept.get(cls.audit_entity(), ())), partial(edited_of, cls=cls, trail=trail, kept=kept))
               for cls in audited_classes()]
    return [Part(len(kept.get(Signature.audit_entity(), ())), _signature_findings), *records]


def _layer_findings(session: Session) -> list[Finding]:
    return [finding for _, found in verifying.send(session) for finding in found]


def _unkeyed_findings(session: Session) -> list[Finding]:
    """Rows the trail's keys would refuse, stored by an insider who took a key off (PostgreSQL; SQLite's row
    ids are the key itself): trail rows without an id stand outside every range the chain is read by, and a
    second chain head could be the one read."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    unnumbered = session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.id.is_(None)))
    heads = session.scalar(select(func.count()).select_from(AuditChainHead))
    return ([Finding(FORGED, "audit rows without an id", f"{unnumbered} trail rows have no id: they stand "
                     "outside the chain and were inserted outside the application")] if unnumbered else []) + (
        [Finding(TRUNCATED, "chain head", f"the chain head is stored {heads} times: the copies were inserted "
                 "outside the application")] if heads > 1 else [])


def _sealed_length(head: AuditChainHead | None) -> int:
    """How many rows a genuine head vouches for; none when the head is missing or was set by hand."""
    return head.length if head is not None and _head_sealed(head) else 0


def _head_sealed(head: AuditChainHead) -> bool:
    return head.key_id in keyring().keys and head.mac == seals.head_mac(head.length, head.last_hash, head.key_id)


def _chain(scans: list[RangeScan]) -> _Chain:
    keyed = [scan.first_keyed for scan in scans if scan.first_keyed is not None]
    last = next((scan.last for scan in reversed(scans) if scan.last is not None), None)
    return _Chain(sum(scan.count for scan in scans), last[1] if last else GENESIS, min(keyed, default=None),
                  max((scan.last_genuine for scan in scans), default=-1))


def _chain_findings(scans: list[RangeScan], chain: _Chain, sealed_length: int) -> list[Finding]:
    """Classify every row that is not a sealed row following its predecessor."""
    spans, previous_last = [], None
    for scan in scans:
        for candidate in scan.candidates:
            before = candidate.previous or (previous_last if candidate.index == scan.start_index else None)
            previous = _Row(before[0], "", before[1], "", True, True) if before else None
            row = _Row(candidate.id, candidate.prev_hash, candidate.hash, candidate.key_id,
                       candidate.content_sealed, candidate.link_sealed)
            inside = candidate.index < sealed_length or candidate.index < chain.last_genuine
            problem = _row_problem(row, previous, _keyed_before(chain, candidate.index), inside)
            if problem:
                spans.append((candidate.index, candidate.index, row.id, row.id, *problem))
        spans += [(first, last, first_id, last_id, FORGED, UNKEYED_AFTER_KEYED)
                  for first, last, first_id, last_id in scan.unkeyed_runs if _keyed_before(chain, first)]
        previous_last = scan.last or previous_last
    return _grouped(sorted(spans))


def _keyed_before(chain: _Chain, index: int) -> bool:
    return chain.first_keyed is not None and chain.first_keyed < index


def _grouped(spans: list[tuple[int, int, int, int, str, str]]) -> list[Finding]:
    """One finding per run of adjacent rows with the same problem (a re-hashed tail is one finding)."""
    runs: list[list] = []
    for first, last, first_id, last_id, kind, detail in spans:
        if runs and first == runs[-1][1] + 1 and (kind, detail) == tuple(runs[-1][4:]):
            runs[-1][1], runs[-1][3] = last, last_id
        else:
            runs.append([first, last, first_id, last_id, kind, detail])
    return [Finding(kind, _rows_named(first_id, last_id, last - first + 1), detail)
            for first, last, first_id, last_id, kind, detail in runs]


def _rows_named(first: int, last: int, count: int) -> str:
    return f"audit row {first}" if count == 1 else f"audit rows {first} to {last} ({count} rows)"


def _row_problem(row: _Row, previous: _Row | None, keyed_seen: bool, inside: bool) -> tuple[str, str] | None:
    if row.key_id != UNKEYED and row.key_id not in keyring().keys:
        return FORGED, (f"sealed with key id '{row.key_id}', which is not in the keyring: a forgery, "
                        "or a retired key was removed")
    if row.key_id == UNKEYED and keyed_seen:
        return FORGED, UNKEYED_AFTER_KEYED
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


def _head_findings(head: AuditChainHead | None, chain: _Chain) -> list[Finding]:
    count, last = chain.count, chain.last_hash
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


def _signature_findings(session: Session, where=None) -> list[Finding]:
    """Every signature (those `where` holds for, when given) whose binding MAC fails, read as rows of the fields
    the binding covers (no record built).

    Each binding is first checked with its fields read plainly from the row; one that does not match there is
    judged by the seal's own check (seals.binding_intact), which alone can report it."""
    ring = keyring()
    fields = [getattr(Signature, name) for name in SIGNATURE_FIELDS]
    query = select(*fields).order_by(Signature.id).execution_options(yield_per=5000)
    rows = session.connection().execute(query if where is None else query.where(where))
    return [Finding(SIGNATURE, f"signature {signature.id} on {signature.entity_type} {signature.entity_id}",
                    "its binding MAC does not match its signer, printed name, meaning, time or record")
            for signature in rows if not _plainly_bound(signature, ring) and not seals.binding_intact(signature)]


def _plainly_bound(signature, ring) -> bool:
    """The binding's MAC holds over its fields as read (a text built otherwise cannot match)."""
    (_, entity_type, entity_id, content_hash, signer_id, username, printed_name, meaning, signed_at, version, scope,
     key_id, binding_hash) = signature  # the order of SIGNATURE_FIELDS
    if signed_at is None or meaning is None:
        return False
    return ring.matches(seals.sealed_binding(entity_type, entity_id, content_hash, signer_id, username, printed_name,
                                             meaning.name, utc_text(signed_at), version, scope), key_id, binding_hash)
