"""Read one range of the audit trail in id order and check every row's seals, in constant memory.

A range is read through a server-side cursor (PostgreSQL) or SQLite's own stepping, a batch at a time, and
every row's MAC and link are recomputed with one JSON encoder and a direct date rendering. What comes back
is small: the rows that are not plainly sound (to be judged with what the ranges before them say), runs of
sound rows written before the trail was keyed, where the range begins and ends, the rows at the positions
a checkpoint signed, and each audited record's changes replayed within the range. Nothing here needs the
application, so that ranges can be scanned in processes of their own.
"""

import hashlib
import hmac
import json
import math
import multiprocessing
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from manufacturing.core.keyring import UNKEYED, canonical

BATCH_ROWS = 5000
VERBS = ("created", "updated", "deleted")
COLUMNS = ("id, occurred_at, user_id, username, action, entity_type, entity_id, scope, changes, reason, "
           "key_id, mac, prev_hash, hash")


@dataclass(frozen=True)
class RangeTask:
    """One range of rows to scan: ids from `low_id` to `high_id`, the first at `start_index` of the chain."""

    low_id: int
    high_id: int
    start_index: int
    wanted: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Candidate:
    """A row that is not plainly sound, with the row before it in the range (none for the range's first)."""

    index: int
    id: int
    prev_hash: str
    hash: str
    key_id: str
    content_sealed: bool
    link_sealed: bool
    previous: tuple[int, str] | None


@dataclass
class RangeScan:
    """What one range says about itself."""

    start_index: int
    count: int = 0
    last: tuple[int, str] | None = None
    first_keyed: int | None = None
    last_genuine: int = -1
    candidates: list[Candidate] = field(default_factory=list)
    unkeyed_runs: list[tuple[int, int, int, int]] = field(default_factory=list)
    rows_at: dict[int, tuple[int, str]] = field(default_factory=dict)
    replayed: dict[tuple[str, str], tuple[bool, dict | None]] = field(default_factory=dict)


def utc_text(stored: object) -> str:
    """The ISO text of a stored UTC time, as the seal covers it (a naive time is UTC)."""
    if isinstance(stored, datetime):
        return stored.isoformat() + "+00:00" if stored.tzinfo is None else stored.isoformat()
    text = str(stored)
    if len(text) == 26 and text[10] == " " and text[19] == ".":
        fraction = "" if text.endswith("000000") else text[19:]
        return f"{text[:10]}T{text[11:19]}{fraction}+00:00"
    try:
        return utc_text(datetime.fromisoformat(text))
    except ValueError:
        return text


def scan_rows(rows, keys: dict[str, bytes], task: RangeTask) -> RangeScan:
    """Check the seals of rows read in id order; keep only what the ranges must tell each other."""
    result, encode, digest, same = RangeScan(task.start_index), canonical, hmac.digest, hmac.compare_digest
    previous, unkeyed_run = None, None
    index = task.start_index - 1
    for index, row in enumerate(rows, task.start_index):
        (row_id, occurred_at, user_id, username, action, entity_type, entity_id, scope, changes, reason,
         key_id, mac, prev_hash, link) = row
        content = ["audit row", utc_text(occurred_at), user_id, username, action, entity_type, entity_id, scope,
                   changes, reason]
        key = keys.get(key_id)
        if key is not None:
            content_sealed = same(digest(key, encode(content).encode(), "sha256").hex(), mac or "")
            link_sealed = same(digest(key, _link_text(prev_hash, mac).encode(), "sha256").hex(), link or "")
        elif key_id == UNKEYED:
            plain = encode([*content[1:], prev_hash]).encode()
            content_sealed = link_sealed = hashlib.sha256(plain).hexdigest() == link
        else:
            content_sealed = link_sealed = False
        follows = previous is not None and prev_hash == previous[1]
        if key_id != UNKEYED and result.first_keyed is None:
            result.first_keyed = index
        if content_sealed:
            result.last_genuine = index
        if key_id == UNKEYED and content_sealed and follows:
            unkeyed_run = _extend(result.unkeyed_runs, unkeyed_run, index, row_id)
        else:
            unkeyed_run = None
            if not (key is not None and content_sealed and link_sealed and follows):
                result.candidates.append(Candidate(index, row_id, prev_hash, link, key_id, content_sealed,
                                                   link_sealed, previous))
        if index + 1 in task.wanted:
            result.rows_at[index + 1] = (row_id, link)
        _replay(result.replayed, action, entity_type, entity_id, changes)
        previous = (row_id, link)
    result.count, result.last = index + 1 - task.start_index, previous
    return result


def _link_text(prev_hash: str, mac: str) -> str:
    """The canonical text of a row's link; hex (alphanumeric) text needs no escaping, so skip the encoder."""
    if isinstance(prev_hash, str) and isinstance(mac, str) and prev_hash.isalnum() and mac.isalnum():
        return f'["audit link","{prev_hash}","{mac}"]'
    return canonical(["audit link", prev_hash, mac])


def _extend(runs: list, run: list | None, index: int, row_id: int) -> list:
    """Add a sound unkeyed row to the run it continues, or start a run."""
    if run is None:
        run = [index, index, row_id, row_id]
        runs.append(run)
    run[1], run[3] = index, row_id
    return run


def _replay(replayed: dict, action: str, entity_type: str, entity_id: str | None, changes: str) -> None:
    """Each record's changes within the range: (starts afresh, values), values None once deleted."""
    entity, _, verb = action.rpartition(".")
    if verb not in VERBS or entity != entity_type:
        return
    key = (entity, entity_id)
    if verb == "deleted":
        replayed[key] = (True, None)
        return
    fresh, values = replayed.get(key, (False, None))
    if verb == "created" or values is None:
        fresh, values = fresh or verb == "created", {}
    values.update({name: change.get("sealed", change.get("new")) if isinstance(change, dict) else change
                   for name, change in json.loads(changes).items()})
    replayed[key] = (fresh, values)


def range_query(dialect: str) -> str:
    """The statement that reads one range in id order."""
    marker = "%s" if dialect == "postgresql" else "?"
    return f"SELECT {COLUMNS} FROM audit_events WHERE id >= {marker} AND id <= {marker} ORDER BY id"


def scan_range(dbapi_connection, dialect: str, keys: dict[str, bytes], task: RangeTask) -> RangeScan:
    """Read a range through a DB-API connection, a batch at a time, and scan it."""
    if dialect == "postgresql":
        cursor = dbapi_connection.cursor(name=f"audit_scan_{task.start_index}")
        cursor.itersize = BATCH_ROWS
    else:
        cursor = dbapi_connection.cursor()
        cursor.arraysize = BATCH_ROWS
    try:
        cursor.execute(range_query(dialect), (task.low_id, task.high_id))
        return scan_rows(_batches(cursor), keys, task)
    finally:
        cursor.close()


def _batches(cursor):
    while batch := cursor.fetchmany(BATCH_ROWS):
        yield from batch


def plan(connection, chunk_rows: int | None, wanted: frozenset[int], most: int | None = None) -> list[RangeTask]:
    """Split the trail, as this connection sees it, into ranges of at least `chunk_rows` ids, at most `most` ranges.

    Each range after the first costs a count of the rows before it, so there are no more ranges than processes.
    """
    low, high = connection.execute(text("SELECT min(id), max(id) FROM audit_events")).one()
    if low is None:
        return []
    ranges = 1 if not chunk_rows else max(1, min(most or high, (high - low + 1) // chunk_rows))
    step = math.ceil((high - low + 1) / ranges)
    lows = [low + number * step for number in range(ranges)]
    before = text("SELECT count(*) FROM audit_events WHERE id < :id")
    starts = [0] + [connection.execute(before, {"id": first}).scalar_one() for first in lows[1:]]
    return [RangeTask(first, min(first + step - 1, high), start, wanted)
            for first, start in zip(lows, starts, strict=True)]


def scan_trail(session, keys: dict[str, bytes], tasks: list[RangeTask], workers: int) -> list[RangeScan]:
    """Scan every range: in this transaction, or with committed data in `workers` processes of their own."""
    connection = session.connection()
    dialect = connection.dialect.name
    url = connection.engine.url
    if workers <= 1 or len(tasks) <= 1 or url.database in (None, "", ":memory:") or not _can_fork():
        dbapi_connection = connection.connection.dbapi_connection
        return [scan_range(dbapi_connection, dialect, keys, task) for task in tasks]
    jobs = [(url.render_as_string(hide_password=False), dialect, keys, task) for task in tasks]
    with multiprocessing.get_context("fork").Pool(min(workers, len(tasks))) as pool:
        return pool.map(_scan_apart, jobs, chunksize=1)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _scan_apart(job: tuple) -> RangeScan:
    """Scan one range on a connection of this process's own."""
    url, dialect, keys, task = job
    engine = create_engine(url, poolclass=NullPool)
    try:
        dbapi_connection = engine.raw_connection()
        try:
            return scan_range(dbapi_connection, dialect, keys, task)
        finally:
            dbapi_connection.close()
    finally:
        engine.dispose()


def merged(scans: list[RangeScan]) -> dict[tuple[str, str], dict | None]:
    """Each audited record's last recorded values, ranges replayed in order; None once deleted."""
    state: dict[tuple[str, str], dict | None] = {}
    for scan in scans:
        for key, (fresh, values) in scan.replayed.items():
            base = state.get(key)
            if fresh or base is None:
                state[key] = values if fresh else dict(values)
            else:
                base.update(values)
    return state
