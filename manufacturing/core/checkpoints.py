"""Signed checkpoints of the audit chain head, kept as files outside the database (21 CFR 11.10(c), (e)).

Someone with access to the database alone could delete the tail of the chain (or all of it) and set the chain
head back: the chain would still verify. A checkpoint is a file in CHECKPOINT_DIR, signed with an Ed25519 key
kept outside the database, that says how long the chain was and how it ended; `verify_checkpoints` compares the
database with every checkpoint. The file is the authority; the `audit_checkpoints` row is a copy to show.
"""

from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import BigInteger, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from manufacturing.core import checkpoint_files, checkpoint_keys, checkpoint_timestamps, clock
from manufacturing.core.audit import GENESIS, AuditChainHead, AuditEvent
from manufacturing.core.checkpoint_files import SignedCheckpoint, Statement
from manufacturing.core.findings import Finding
from manufacturing.core.types import UTCDateTime
from manufacturing.extensions import db

WARNING_KINDS = frozenset({"STALE CHECKPOINT", "UNLISTED CHECKPOINT", "NOT TIMESTAMPED"})
"""Kinds of finding that ask for attention but do not show the trail was tampered with."""


class AuditCheckpoint(db.Model):
    """A copy of one checkpoint file, to show; never updated or deleted (PostgreSQL triggers refuse both)."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    chain_length: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_event_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))
    trigger: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(80), unique=True)
    signature: Mapped[str] = mapped_column(Text)
    timestamped: Mapped[bool] = mapped_column(default=False)



def verify_checkpoints(session: Session) -> list[Finding]:
    """Check every checkpoint file's signature and compare the database chain with every checkpoint."""
    findings, trusted = read_checkpoints(session)
    if trusted is None:
        return findings
    rows_at, length = chain_rows_at(session, signed_lengths(trusted))
    return findings + compare_checkpoints(session, trusted, rows_at, length)


def read_checkpoints(session: Session) -> tuple[list[Finding], dict[str, SignedCheckpoint] | None]:
    """The findings of the files and their listing, and the checkpoints whose signature holds (None: no key)."""
    config = current_app.config
    where = str(checkpoint_keys.public_key_path(config["CHECKPOINT_KEY"]).name)
    try:
        public_key = checkpoint_keys.load_public_key(config["CHECKPOINT_KEY"])
    except (OSError, ValueError) as error:
        return [Finding("UNREADABLE PUBLIC KEY", where, f"the checkpoints cannot be verified: {error}")], None
    if public_key is None:
        return [Finding("NO PUBLIC KEY", where, "the checkpoints cannot be verified: run 'flask audit keygen'")], None
    findings, trusted = _read_files(config["CHECKPOINT_DIR"], public_key)
    findings += _compare_listing(session, trusted, checkpoint_files.file_names(config["CHECKPOINT_DIR"]))
    return findings, trusted


def signed_lengths(trusted: dict[str, SignedCheckpoint]) -> frozenset[int]:
    """The chain lengths the trusted checkpoints signed: the positions whose row must be compared."""
    return frozenset(checkpoint.statement.chain_length for checkpoint in trusted.values())


def compare_checkpoints(session: Session, trusted: dict[str, SignedCheckpoint], rows_at: dict[int, tuple[int, str]],
                        length: int) -> list[Finding]:
    """Compare the chain's rows at the signed positions, its length and its head with the checkpoints."""
    return _compare_chain(trusted, rows_at, length) + _compare_head(session, trusted)


def _read_files(directory, public_key) -> tuple[list[Finding], dict[str, SignedCheckpoint]]:
    """Read every file; return the findings and the checkpoints whose signature holds, by file name."""
    findings, trusted = [], {}
    expected_key = checkpoint_keys.key_id(public_key)
    for name in checkpoint_files.file_names(directory):
        try:
            checkpoint = checkpoint_files.read(Path(directory) / name)
        except (OSError, ValueError) as error:
            findings.append(Finding("UNREADABLE CHECKPOINT", name, str(error)))
            continue
        if checkpoint.statement.key_id != expected_key:
            findings.append(Finding("UNKNOWN KEY", name, f"signed by key {checkpoint.statement.key_id}, "
                                    f"the public key on file is {expected_key}"))
        elif not checkpoint_files.signature_holds(checkpoint, public_key):
            findings.append(Finding("BAD SIGNATURE", name, "the signature does not match the content: "
                                    "the file was altered or forged"))
        else:
            findings += _timestamp_findings(name, checkpoint)
            trusted[name] = checkpoint
    return findings, trusted


def _timestamp_findings(name: str, checkpoint: SignedCheckpoint) -> list[Finding]:
    """A time-stamp, when there is one, must attest this checkpoint's digest; one is expected when TSA_URL is set."""
    token = checkpoint.timestamp_token
    if token is None:
        if current_app.config.get("TSA_URL"):
            return [Finding("NOT TIMESTAMPED", name, "the time-stamping authority did not stamp this checkpoint")]
        return []
    try:
        holds = checkpoint_timestamps.token_holds(token, checkpoint.statement.digest())
    except Exception as error:  # asn1crypto and pyHanko raise many kinds on a malformed token
        return [Finding("BAD TIMESTAMP", name, f"the time-stamp token cannot be read: {error}")]
    if not holds:
        return [Finding("BAD TIMESTAMP", name, "the time-stamp is not intact or attests another content than "
                        "this checkpoint")]
    return []


def _compare_listing(session: Session, trusted: dict, names: list[str]) -> list[Finding]:
    """Every listed checkpoint must have its file; a file not listed is only noted (the listing is a copy)."""
    listed = set(session.scalars(select(AuditCheckpoint.file_name)))
    findings = [Finding("MISSING CHECKPOINT FILE", name, "the database lists this checkpoint, its file is gone")
                for name in sorted(listed - set(names))]
    findings += [Finding("UNLISTED CHECKPOINT", name, "the file is not listed in the database (the listing failed "
                         "or was deleted)") for name in sorted(set(trusted) - listed)]
    return findings


def _compare_chain(trusted: dict[str, SignedCheckpoint], rows_at: dict[int, tuple[int, str]],
                   length: int) -> list[Finding]:
    """At each checkpointed length the row must be the one signed; a checkpoint longer than the chain was cut."""
    findings, beyond = [], {}
    for name, checkpoint in sorted(trusted.items(), key=lambda item: item[1].statement.chain_length):
        statement = checkpoint.statement
        position = statement.chain_length
        if position > length:
            beyond.setdefault(position, []).append((name, statement))
        elif position and rows_at.get(position) != (statement.last_event_id, statement.last_hash):
            row_id, row_hash = rows_at.get(position, (None, ""))
            findings.append(Finding("CHECKPOINT MISMATCH", name, f"row {position} of the chain is id {row_id} "
                                    f"hash {row_hash[:12]}, the checkpoint signed id {statement.last_event_id} "
                                    f"hash {statement.last_hash[:12]}: rows were removed, altered or replaced"))
    return findings + _truncation(length, beyond)


def chain_rows_at(session: Session, positions: frozenset[int]) -> tuple[dict[int, tuple[int, str]], int]:
    """Walk the chain once in row order: (id, link) of the rows at these positions, and the chain's length."""
    rows_at, position = {}, 0
    for row_id, row_hash in session.execute(_chain_rows()):
        position += 1
        if position in positions:
            rows_at[position] = (row_id, row_hash)
    return rows_at, position


def _chain_rows():
    table = AuditEvent.__table__
    return select(table.c.id, table.c.hash).order_by(table.c.id).execution_options(yield_per=5000)


def _truncation(rows: int, beyond: dict[int, list]) -> list[Finding]:
    """Checkpoints longer than the chain: its tail, or all of it, was deleted."""
    if not beyond:
        return []
    longest = max(beyond)
    name = beyond[longest][0][0]
    if rows == 0:
        return [Finding("EVERYTHING DELETED", name, f"the audit table is empty; the checkpoint signed {longest} rows")]
    return [Finding("TRUNCATED TAIL", name, f"the audit table has {rows} rows; the checkpoint signed {longest}: "
                    f"{longest - rows} rows at the end were deleted")]


def _compare_head(session: Session, trusted: dict[str, SignedCheckpoint]) -> list[Finding]:
    """The head may not be behind the latest checkpoint; the latest checkpoint may not be too old or too short."""
    head = session.get(AuditChainHead, 1)
    length = head.length if head else 0
    if not trusted:
        if length:
            return [Finding("STALE CHECKPOINT", "checkpoints", f"the chain has {length} rows and no checkpoint")]
        return []
    name, latest = max(((name, cp.statement) for name, cp in trusted.items()),
                       key=lambda item: (item[1].chain_length, item[1].taken_at))
    if length < latest.chain_length:
        return [Finding("HEAD RESET", "audit_chain_head", f"the head says {length} rows ending in "
                        f"{head.last_hash[:12] if head else GENESIS[:12]}; checkpoint {name} signed "
                        f"{latest.chain_length} rows: the head was set back")]
    return _staleness(name, latest, length)


def _staleness(name: str, latest: Statement, length: int) -> list[Finding]:
    config = current_app.config
    findings = []
    unchecked = length - latest.chain_length
    if unchecked >= config["CHECKPOINT_EVERY_ROWS"] + config["CHECKPOINT_MARGIN_ROWS"]:
        findings.append(Finding("STALE CHECKPOINT", name, f"{unchecked} rows were appended since the latest "
                                "checkpoint: checkpoints are not being taken"))
    age = clock.now() - clock.as_utc(latest.taken_at)
    limit = timedelta(hours=config["CHECKPOINT_MAX_AGE_HOURS"] + config["CHECKPOINT_MARGIN_HOURS"])
    if age >= limit:
        findings.append(Finding("STALE CHECKPOINT", name, f"the latest checkpoint is {_hours(age)} hours old: "
                                "the daily 'flask audit checkpoint' is not running"))
    return findings


def _hours(age: timedelta) -> str:
    return f"{age.total_seconds() / 3600:.0f}"
