"""When and how a checkpoint is taken: every N audit rows, on the first append after a day, at every release.

A checkpoint must describe committed rows, so it is taken after the transaction commits and has given its
connection back (a second connection held at once could exhaust the pool), on a connection of its own. A
checkpoint that cannot be taken is logged and never undoes the committed work: `audit verify` shows the gap.
"""

import base64
import logging
from datetime import timedelta

from flask import current_app, has_app_context
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session

from manufacturing.core import checkpoint_files, checkpoint_keys, checkpoint_timestamps, clock
from manufacturing.core.audit import AuditChainHead, AuditEvent
from manufacturing.core.checkpoint_files import SignedCheckpoint, Statement
from manufacturing.core.checkpoints import AuditCheckpoint

logger = logging.getLogger(__name__)

REQUESTED_KEY = "checkpoint_requested"
COMMITTED_KEY = "checkpoint_after_commit"


def request_checkpoint(session: Session, trigger: str) -> None:
    """Ask for a checkpoint once this session's transaction has committed (e.g. trigger 'release')."""
    session.info[REQUESTED_KEY] = trigger


@event.listens_for(Session, "after_commit")
def _note_commit(session: Session) -> None:
    session.info[COMMITTED_KEY] = True


@event.listens_for(Session, "after_transaction_end")
def _checkpoint_after_commit(session: Session, transaction) -> None:
    """Once a transaction has ended in a commit, take the requested or due checkpoint; log, never raise."""
    if transaction.parent is not None:
        return
    requested = session.info.pop(REQUESTED_KEY, None)
    if not session.info.pop(COMMITTED_KEY, False) or not has_app_context():
        return
    try:
        engine = session.get_bind()
        trigger = requested or due_trigger(engine)
        if trigger:
            take_checkpoint(engine, trigger)
    except Exception:
        logger.exception("no audit checkpoint was taken after this commit: 'flask audit verify' will show the gap")


def take_checkpoint(engine: Engine, trigger: str) -> str:
    """Sign the committed chain head into a new checkpoint file, then list it in the table; return the file name."""
    config = current_app.config
    key = checkpoint_keys.load_private_key(config["CHECKPOINT_KEY"])
    with engine.connect() as connection:
        length, last_hash, last_id = connection.execute(_committed_head()).one()
    key_id = checkpoint_keys.key_id(key.public_key())
    statement = Statement(length, last_id, last_hash, clock.now(), key_id, trigger)
    checkpoint = checkpoint_files.sign(statement, key, _timestamp(statement))
    name = checkpoint_files.write_new(config["CHECKPOINT_DIR"], checkpoint)
    with engine.begin() as connection:
        connection.execute(insert(AuditCheckpoint.__table__).values(**_row(checkpoint, name)))
    return name


def _committed_head():
    """One statement (one snapshot): the head's length and hash, and the id of the row with that hash."""
    head, events = AuditChainHead.__table__, AuditEvent.__table__
    return (select(head.c.length, head.c.last_hash, events.c.id)
            .select_from(head.outerjoin(events, events.c.hash == head.c.last_hash))
            .where(head.c.id == 1))


def _timestamp(statement: Statement) -> bytes | None:
    """Time-stamp the statement's digest when TSA_URL is set; a failing authority leaves it unstamped."""
    url = current_app.config.get("TSA_URL")
    if not url:
        return None
    try:
        return checkpoint_timestamps.timestamp(statement.digest(), url, current_app.config["TSA_TIMEOUT_SECONDS"])
    except Exception:
        logger.exception("the time-stamping authority did not stamp checkpoint %s", statement.file_name())
        return None


def _row(checkpoint: SignedCheckpoint, name: str) -> dict:
    statement = checkpoint.statement
    return {"taken_at": statement.taken_at, "chain_length": statement.chain_length,
            "last_event_id": statement.last_event_id, "last_hash": statement.last_hash,
            "key_id": statement.key_id, "trigger": statement.trigger, "file_name": name,
            "signature": base64.b64encode(checkpoint.signature).decode("ascii"),
            "timestamped": checkpoint.timestamp_token is not None}


def due_trigger(engine: Engine) -> str | None:
    """Name why a checkpoint is due now ('rows' or 'daily'), or None: N rows, or the first append after a day."""
    config = current_app.config
    latest = select(AuditCheckpoint.chain_length, AuditCheckpoint.taken_at).order_by(AuditCheckpoint.id.desc())
    with engine.connect() as connection:
        length = connection.scalar(select(AuditChainHead.length).where(AuditChainHead.id == 1)) or 0
        last = connection.execute(latest.limit(1)).one_or_none()
    last_length, last_taken = (last.chain_length, last.taken_at) if last else (0, None)
    if length - last_length >= config["CHECKPOINT_EVERY_ROWS"]:
        return "rows"
    if length > last_length and (last_taken is None or clock.now() - last_taken >= _max_age()):
        return "daily"
    return None


def _max_age() -> timedelta:
    return timedelta(hours=current_app.config["CHECKPOINT_MAX_AGE_HOURS"])
