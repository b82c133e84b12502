"""An insider with SQL access to the database but not the audit key, and what they can do to it."""

import hashlib
import hmac
import json

from sqlalchemy import select, text, update

from manufacturing.core import clock
from manufacturing.extensions import db
from tests.conftest import past_the_triggers

WRONG_KEY = bytes.fromhex("0bad" * 16)


def run(statement: str, **params) -> None:
    """Run SQL behind the application's back, as the owner, past the append-only triggers."""
    with past_the_triggers() as connection:
        connection.execute(text(statement), params)


def sha256(fields: list) -> str:
    """What an attacker without the key computes: a plain SHA-256 of the fields."""
    payload = json.dumps(fields, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def wrong_key(fields: list) -> str:
    """What an attacker with a guessed key computes: an HMAC that is not the site's."""
    payload = json.dumps(fields, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(WRONG_KEY, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def records(table_name: str, **equal) -> list[dict]:
    """The rows of a table as the application reads them (typed), by id, where the columns equal these values."""
    table = db.metadata.tables[table_name]
    query = select(table).where(*[table.c[column] == wanted for column, wanted in equal.items()])
    with db.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query.order_by(table.c.id))]


def change(table_name: str, record_id: int, **values) -> None:
    """Set typed values on one row behind the application's back."""
    table = db.metadata.tables[table_name]
    with past_the_triggers() as connection:
        connection.execute(update(table).where(table.c.id == record_id).values(**values))


def trail() -> list[dict]:
    return records("audit_events")


def row_fields(row: dict) -> list:
    return ["audit row", clock.as_utc(row["occurred_at"]).isoformat(), row["user_id"], row["username"],
            row["action"], row["entity_type"], row["entity_id"], row["scope"], row["changes"], row["reason"]]


def reseal(row_id: int, forge=sha256) -> None:
    """Recompute one row's MAC and link the only way the attacker can: without the key."""
    row = next(row for row in trail() if row["id"] == row_id)
    mac = forge(row_fields(row))
    run("UPDATE audit_events SET mac = :mac, hash = :hash WHERE id = :id",
        mac=mac, hash=forge([row["prev_hash"], mac]), id=row_id)


def relink(after_id: int, forge=sha256) -> None:
    """Re-link every row after `after_id` to the one before it and set the head to the new end."""
    chain = trail()
    previous = next((row["hash"] for row in chain if row["id"] == after_id), "0" * 64)
    for row in [row for row in chain if row["id"] > after_id]:
        new_hash = forge([previous, row["mac"]])
        run("UPDATE audit_events SET prev_hash = :prev, hash = :hash WHERE id = :id",
            prev=previous, hash=new_hash, id=row["id"])
        previous = new_hash
    set_head(len(chain), previous, forge)


def set_head(length: int, last_hash: str, forge=sha256) -> None:
    """Point the chain head at a length and a last link, with a MAC made without the key."""
    run("UPDATE audit_chain_head SET length = :length, last_hash = :last, mac = :mac WHERE id = 1",
        length=length, last=last_hash, mac=forge(["audit head", length, last_hash]))


def head() -> dict:
    return records("audit_chain_head")[0]


def restore_head(saved: dict) -> None:
    """Put back a genuine head the attacker copied earlier."""
    run("UPDATE audit_chain_head SET length = :length, last_hash = :last_hash, key_id = :key_id, mac = :mac "
        "WHERE id = 1", **{key: saved[key] for key in ("length", "last_hash", "key_id", "mac")})
