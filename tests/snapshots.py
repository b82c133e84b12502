"""Worlds built once per database by the factories, then restored from their rows for every test that uses them.

A world (a ward, a bench) is built on a clean database by the real operations, so its records and its audit
chain are the ones the operations wrote. Its rows are then read back once; a later test that asks for the same
world starts from those rows put back, ids, hashes and the chain head included, and gets the world's records
read again in its own session. A world is kept for its database and the start the factories computed from the
clock, and for ten minutes at most: it is built again after that, so that a world made "two hours ago" stays so.
"""

import dataclasses
import tempfile
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import inspect, select, update

from manufacturing.core.audit import AuditChainHead
from manufacturing.extensions import db
from tests.conftest import clean_database, past_the_triggers

MAX_AGE_SECONDS = 600
CHECKPOINT_FILES = "checkpoint files"  # a key of a snapshot that no table can have
_BUILT: dict[tuple[str, str], tuple] = {}  # (database, name) -> (key, built at, world, rows)


def built_once(name: str, key, build):
    """The world `name` for `key`: built by `build()` on its first use in this database, else restored."""
    chain_length = db.session.scalar(select(AuditChainHead.length))
    assert not chain_length, f"the {name} must be the first thing a test makes: {chain_length} events before it"
    place = (db.engine.url.render_as_string(hide_password=True), name)
    kept = _BUILT.get(place)
    if kept and kept[0] == key and time.monotonic() - kept[1] < MAX_AGE_SECONDS:
        restore(kept[3])
        world = fresh(kept[2])
        db.session.commit()  # as after a build: no transaction left open, every record read again when used
        return world
    world = build()
    db.session.commit()
    _BUILT[place] = (key, time.monotonic(), world, snapshot())
    return world


def snapshot() -> dict[str, list[dict]]:
    """Every row of every table, and the checkpoint files, to start each test or example from the same world."""
    with db.engine.connect() as connection:
        rows = {table.name: [dict(row._mapping)
                             for row in connection.execute(select(table).order_by(*table.primary_key.columns))]
                for table in db.metadata.sorted_tables}
    rows[CHECKPOINT_FILES] = {path.name: path.read_bytes() for path in _checkpoint_dir().glob("*.json")}
    return rows


def restore(rows: dict[str, list[dict]]) -> None:
    """Empty the database (conftest's clean_database) and put the snapshot's rows back, ids included; the
    world's checkpoint files go into a new checkpoint directory, as the world wrote them."""
    db.session.remove()
    clean_database()
    head = AuditChainHead.__table__
    with past_the_triggers() as connection:
        for table in db.metadata.sorted_tables:
            if table is head:
                for row in rows[table.name]:
                    connection.execute(update(head).where(head.c.id == row["id"]).values(**row))
            elif rows[table.name]:
                connection.execute(table.insert(), rows[table.name])
    directory = _fresh_checkpoint_dir()
    for name, content in rows[CHECKPOINT_FILES].items():
        (directory / name).write_bytes(content)


def _checkpoint_dir() -> Path:
    return Path(current_app.config["CHECKPOINT_DIR"])


def _fresh_checkpoint_dir() -> Path:
    """A new checkpoint directory for a restored world: files of what ran before it are not the world's."""
    parent = _checkpoint_dir().parent
    parent.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="restored-checkpoints-", dir=parent))
    current_app.config["CHECKPOINT_DIR"] = str(directory)
    return directory


def fresh(value):
    """The same value with every record in it read again in the current session (after a restore)."""
    if isinstance(value, db.Model):
        return db.session.get(type(value), inspect(value).identity)
    if isinstance(value, dict):
        return {key: fresh(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(value, **{field.name: fresh(getattr(value, field.name))
                                             for field in dataclasses.fields(value) if field.init})
    return value
