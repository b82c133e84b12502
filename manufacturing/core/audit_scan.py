"""Read one range of the audit trail in id order and check every row's seals, in constant memory.

A range is read by COPY (PostgreSQL: a row is a line of text, parsed here for a third of a cursor's cost) or
SQLite's own stepping, a batch at a time. Every row's MAC and link are recomputed over text built directly
(the canonical encoder's own string escaping; the encoder itself where the direct text does not match), under
HMAC pads prepared once per key. What comes back
is small: the rows that are not plainly sound (to be judged with what the ranges before them say), runs of
sound rows written before the trail was keyed, where the range begins and ends, the rows at the positions
a checkpoint signed, and each audited record's changes replayed within the range. Nothing here needs the
application, so that ranges can be scanned in processes of their own.
"""

import bisect
import codecs
import gc
import hashlib
import json
import math
import multiprocessing
import re
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from json.encoder import encode_basestring as quote

import orjson
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from manufacturing.core.audit_apart import exported_snapshot, import_snapshot
from manufacturing.core.copy_out import copied_lines
from manufacturing.core.keyring import UNKEYED, canonical, equal_text

try:
    from manufacturing.core._audit_fast import Sealer, compact
except ImportError:  # built without a compiler or OpenSSL's headers: every row is checked in Python
    Sealer = compact = None

BATCH_ROWS = 5000
LONG_DIGITS, LONG_DIGITS_BYTES = re.compile(r"\d{19}"), re.compile(rb"\d{19}")
COPIED_LINES = 4096  # COPY's lines handed to the compiled check at once
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
    touched: dict[str, set | None] = field(default_factory=dict)  # by entity, the blocks of records it changes


def utc_text(stored: object) -> str:
    """The ISO text of a stored UTC time, as the seal covers it (a naive time is UTC; a text in that form is it)."""
    if type(stored) is str and len(stored) in (25, 32) and stored[10] == "T" and stored.endswith("+00:00"):
        return stored
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
    scanner = _Scanner(keys, task)
    for row in rows:
        scanner.row(row)
    return scanner.done()


class _Scanner:
    """One range's scan as it goes: the row before, the run of unkeyed rows, what the rows so far say."""

    def __init__(self, keys: dict[str, bytes], task: RangeTask):
        self.result, self.task = RangeScan(task.start_index), task
        self.pads = {name: hmac_pads(key) for name, key in keys.items()}
        self.index, self.previous, self.unkeyed_run = task.start_index - 1, None, None
        self.wanted_rows = sorted(position - 1 for position in task.wanted)

    def row(self, row: tuple) -> None:
        """Check one row's seals and its link to the row before."""
        result, same = self.result, equal_text
        self.index = index = self.index + 1
        row_id, occurred_at, action, entity_type, entity_id, changes = row[0], row[1], *row[4:7], row[8]
        key_id, mac, prev_hash, link = row[10:]
        occurred = utc_text(occurred_at)
        pad = self.pads.get(key_id)
        if pad is not None:
            fast = _content_text(row, occurred)
            content_sealed = (fast is not None and same(padded_mac(pad, fast), mac)) or same(
                padded_mac(pad, canonical(["audit row", occurred, *row[2:10]]).encode()), mac)
            link_sealed = same(padded_mac(pad, _link_text(prev_hash, mac)), link) or same(
                padded_mac(pad, canonical(["audit link", prev_hash, mac]).encode()), link)
        elif key_id == UNKEYED:
            plain = canonical([occurred, *row[2:10], prev_hash]).encode()
            content_sealed = link_sealed = hashlib.sha256(plain).hexdigest() == link
        else:
            content_sealed = link_sealed = False
        follows = self.previous is not None and prev_hash == self.previous[1]
        if key_id != UNKEYED and result.first_keyed is None:
            result.first_keyed = index
        if content_sealed:
            result.last_genuine = index
        if key_id == UNKEYED and content_sealed and follows:
            self.unkeyed_run = _extend(result.unkeyed_runs, self.unkeyed_run, index, row_id)
        else:
            self.unkeyed_run = None
            if not (pad is not None and content_sealed and link_sealed and follows):
                result.candidates.append(Candidate(index, row_id, prev_hash, link, key_id, content_sealed,
                                                   link_sealed, self.previous))
        if index + 1 in self.task.wanted:
            result.rows_at[index + 1] = (row_id, link)
        _replay(result.replayed, action, entity_type, entity_id, changes)
        self.previous = (row_id, link)

    def plain(self, count: int, last: tuple[int, str]) -> None:
        """Take `count` rows found plainly sound (keyed, both seals holding, each following the one before)."""
        result = self.result
        if result.first_keyed is None:
            result.first_keyed = self.index + 1
        self.index += count
        result.last_genuine, self.unkeyed_run, self.previous = self.index, None, last

    def rows_before_wanted(self) -> int:
        """How many rows may pass as plain before one whose position a checkpoint signed (read row by row)."""
        at = bisect.bisect_right(self.wanted_rows, self.index)
        return self.wanted_rows[at] - self.index - 1 if at < len(self.wanted_rows) else 1 << 62

    def done(self) -> RangeScan:
        self.result.count, self.result.last = self.index + 1 - self.task.start_index, self.previous
        return self.result


def hmac_pads(key: bytes) -> tuple:
    """HMAC-SHA256's inner and outer hashes of a key, started once (RFC 2104): a row's MAC then costs two copies."""
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\0")
    return (hashlib.sha256(bytes(byte ^ 0x36 for byte in block)),
            hashlib.sha256(bytes(byte ^ 0x5C for byte in block)))


def padded_mac(pads: tuple, data: bytes) -> str:
    inner, outer = pads[0].copy(), pads[1].copy()
    inner.update(data)
    outer.update(inner.digest())
    return outer.hexdigest()


def _content_text(row: tuple, occurred: str) -> bytes:
    """A row's content as the canonical encoder writes it, built directly; None where the encoder must."""
    _, _, user_id, username, action, entity_type, entity_id, scope, changes, reason = row[:10]
    try:
        return (f'["audit row",{quote(occurred)},{"null" if user_id is None else int.__repr__(user_id)},'
                f'{quote(username)},{quote(action)},{quote(entity_type)},'
                f'{"null" if entity_id is None else quote(entity_id)},{"null" if scope is None else quote(scope)},'
                f'{quote(changes)},{"null" if reason is None else quote(reason)}]').encode()
    except TypeError:
        return None


def _link_text(prev_hash: str, mac: str) -> bytes:
    """A row's link as the canonical encoder writes it for hex text (anything else fails, for the encoder to redo)."""
    return f'["audit link","{prev_hash}","{mac}"]'.encode()


def _extend(runs: list, run: list | None, index: int, row_id: int) -> list:
    """Add a sound unkeyed row to the run it continues, or start a run."""
    if run is None:
        run = [index, index, row_id, row_id]
        runs.append(run)
    run[1], run[3] = index, row_id
    return run


def _replay(replayed: dict, action: str, entity_type: str, entity_id: str | None, changes: str) -> None:
    """Each record's changes within the range: (starts afresh, changes by field), changes None once deleted."""
    entity, _, verb = action.rpartition(".")
    if entity != entity_type or verb not in VERBS:
        return
    key = (entity, entity_id)
    if verb == "deleted":
        replayed[key] = (True, None)
        return
    fresh, values = replayed.get(key, (False, None))
    if verb == "created" or values is None:
        replayed[key] = (fresh or verb == "created", values := {})
    values.update(_loads(changes))


def _loads(changes: str) -> dict:
    """A row's changes, as json reads them; nothing for what is no object of changes (the row's seal is what
    reports it)."""
    try:
        loaded = _json(changes)
    except (ValueError, RecursionError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _json(written: str | bytes) -> object:
    """JSON text as json.loads reads it: by orjson, three times faster, unless the text may hold an integer
    orjson reads as a float (19 digits or more) or holds what orjson refuses (NaN, a lone surrogate, 1e400)."""
    if (LONG_DIGITS if type(written) is str else LONG_DIGITS_BYTES).search(written) is None:
        try:
            return orjson.loads(written)
        except orjson.JSONDecodeError:
            pass
    return json.loads(written)


def recorded_value(change: object) -> object:
    """The value a change leaves: the new one, or for a hidden value its keyed fingerprint."""
    return change.get("sealed", change.get("new")) if isinstance(change, dict) else change


def range_query(dialect: str) -> str:
    """The statement that reads one range in id order."""
    marker = "%s" if dialect == "postgresql" else "?"
    return f"SELECT {COLUMNS} FROM audit_events WHERE id >= {marker} AND id <= {marker} ORDER BY id"


# The stored time comes as PostgreSQL writes it in ISO style; both checks write it as the seal covers it.
COPY_RANGE = f"COPY (SELECT {COLUMNS} FROM audit_events WHERE id >= %d AND id <= %d ORDER BY id) TO STDOUT"
COPY_ESCAPE = re.compile(r"\\(.)")
COPY_ESCAPED = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def scan_range(dbapi_connection, dialect: str, keys: dict[str, bytes], task: RangeTask) -> RangeScan:
    """Read a range through a DB-API connection (by COPY on PostgreSQL), a batch at a time, and scan it."""
    if dialect == "postgresql":
        return _scan_copied(dbapi_connection, keys, task)
    cursor = dbapi_connection.cursor()
    try:
        cursor.arraysize = BATCH_ROWS
        cursor.execute(range_query(dialect), (task.low_id, task.high_id))
        return scan_rows(_batches(cursor), keys, task)
    finally:
        cursor.close()


def _scan_copied(dbapi_connection, keys: dict[str, bytes], task: RangeTask) -> RangeScan:
    """Scan a range read by COPY: plain rows by the compiled check (UTF-8, built), every other row in Python.

    COPY sends a row per message; the messages are handed to the check as they came, a list at a time."""
    encoding = dbapi_connection.info.encoding
    scanner = _Scanner(keys, task)
    sealer = Sealer(keys) if Sealer is not None and codecs.lookup(encoding).name == "utf-8" else None
    with closing(dbapi_connection.cursor()) as cursor:
        cursor.execute("SET LOCAL DateStyle TO ISO")
    statement = COPY_RANGE % (int(task.low_id), int(task.high_id))
    with _collector_paused(), closing(copied_lines(dbapi_connection, statement, COPIED_LINES)) as batches:
        for lines in batches:
            if sealer is None:
                for line in lines:
                    scanner.row(_copied_row(bytes(line).decode(encoding).removesuffix("\n")))
            else:
                _scan_lines(scanner, sealer, lines)
    if sealer is not None:
        compact(scanner.result.replayed)  # a record's fields as one text: read once, and sent back small
    return scanner.done()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: a scan makes millions of small objects and no cycles, and the
    collector's passes over them cost a tenth of the scan."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _scan_lines(scanner: _Scanner, sealer, lines: list) -> None:
    """Scan COPY's lines: runs of plain rows in C, each row between them in Python."""
    position, replayed = 0, scanner.result.replayed
    while position < len(lines):
        previous = scanner.previous[1] if scanner.previous else None
        position, count, last_id, last_link = sealer.plain_rows(
            lines, position, previous if isinstance(previous, str) else None, scanner.rows_before_wanted(), replayed)
        if count:
            scanner.plain(count, (last_id, last_link))
        if position < len(lines):
            scanner.row(_copied_row(bytes(lines[position]).decode().removesuffix("\n")))
            position += 1


def _batches(cursor):
    while batch := cursor.fetchmany(BATCH_ROWS):
        yield from batch


def _copied_row(line: str) -> tuple:
    """One line of COPY text: tab-separated, null as \\N, a backslash escaping what follows it."""
    if "\\" in line.replace("\\N", ""):
        values = [None if value == "\\N" else COPY_ESCAPE.sub(_unescaped, value) for value in line.split("\t")]
    else:
        values = [None if value == "\\N" else value for value in line.split("\t")]
    values[0] = int(values[0])
    if values[2] is not None:
        values[2] = int(values[2])
    return tuple(values)


def _unescaped(match: re.Match) -> str:
    return COPY_ESCAPED.get(match.group(1), match.group(1))


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


def scan_trail(session, keys: dict[str, bytes], tasks: list[RangeTask], workers: int,
               touch_bits: int | None = None) -> list[RangeScan]:
    """Scan every range: in this transaction, or with committed data in `workers` processes of their own.

    With `touch_bits`, each scan also tells which blocks of records (of that many bits of ids) its rows change,
    and the processes take runs of adjacent ranges, their replays combined before they are sent back (a record
    changed in many ranges comes back once from each process)."""
    connection = session.connection()
    dialect = connection.dialect.name
    url = connection.engine.url
    if workers <= 1 or len(tasks) <= 1 or url.database in (None, "", ":memory:") or not _can_fork():
        dbapi_connection = connection.connection.dbapi_connection
        return [_touching(scan_range(dbapi_connection, dialect, keys, task), touch_bits) for task in tasks]
    snapshot = exported_snapshot(session) if dialect == "postgresql" else None
    runs = [[task] for task in tasks] if touch_bits is None else _runs(tasks, workers)
    jobs = [(url.render_as_string(hide_password=False), dialect, keys, run, snapshot, touch_bits) for run in runs]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context) as pool:  # a process that dies: an error
        return [scan for scans in pool.map(_scan_apart, jobs) for scan in scans]


def _runs(tasks: list[RangeTask], workers: int) -> list[list[RangeTask]]:
    """The tasks in `workers` runs of adjacent ones, of about as many ranges each."""
    size = math.ceil(len(tasks) / workers)
    return [tasks[start:start + size] for start in range(0, len(tasks), size)]


def _touching(scan: RangeScan, bits: int | None) -> RangeScan:
    if bits is not None:
        scan.touched = touched_by(scan, bits)
    return scan


EVERY_BLOCK = None  # every block of an entity's records: the trail names one of them oddly


def touched_by(scan: RangeScan, bits: int) -> dict[str, set | None]:
    """By entity, the blocks of records a scanned range's rows change (EVERY_BLOCK: a record named oddly)."""
    touched: dict[str, set | None] = {}
    for entity, entity_id in scan.replayed:
        if touched.get(entity, set()) is EVERY_BLOCK:
            continue
        if plain_number(entity_id):
            touched.setdefault(entity, set()).add(int(entity_id) >> bits)
        else:
            touched[entity] = EVERY_BLOCK
    return touched


def plain_number(entity_id: str | None) -> bool:
    """The id as the application writes a record's integer id (no sign, no leading zero, ASCII digits, at most
    18 of them: a 64-bit integer)."""
    return (entity_id is not None and 0 < len(entity_id) <= 18 and entity_id.isascii() and entity_id.isdigit()
            and str(int(entity_id)) == entity_id)


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


def _scan_apart(job: tuple) -> list[RangeScan]:
    """Scan a run of adjacent ranges on a connection of this process's own; the last one carries their replay."""
    url, dialect, keys, tasks, snapshot, touch_bits = job
    engine = create_engine(url, poolclass=NullPool)
    try:
        pooled = engine.raw_connection()
        try:
            if snapshot is not None:  # the rows as the verifying transaction sees them, whatever is committed since
                import_snapshot(pooled.dbapi_connection, snapshot)
            scans = [_touching(scan_range(pooled.dbapi_connection, dialect, keys, task), touch_bits) for task in tasks]
            if len(scans) > 1:
                replayed = combined(scans)
                for scan in scans:
                    scan.replayed = {}
                scans[-1].replayed = replayed
            return scans
        finally:
            pooled.close()
    finally:
        engine.dispose()


class _Read(dict):
    """A record's values already read from its changes (ranges combined): never read again."""


def merged(scans: list[RangeScan]) -> dict[tuple[str, str], dict | None]:
    """Each audited record's last recorded values, ranges replayed in order; None once deleted.

    A record the compiled check replayed whole comes as the text of its recorded values (bytes), read once;
    a record's fields replayed in Python come as its changes."""
    return {key: None if values is None else _recorded(values) for key, (_, values) in combined(scans).items()}


def combined(scans: list[RangeScan]) -> dict[tuple[str, str], tuple[bool, object]]:
    """The replays of adjacent ranges as one: each record starts afresh if it did in any of them (created or
    deleted there), with its values combined from there on; combining runs of ranges, then the runs, is the
    same as combining the ranges."""
    changes: dict[tuple[str, str], tuple[bool, object]] = {}
    for scan in scans:
        for key, (fresh, values) in scan.replayed.items():
            had = changes.get(key)
            if fresh or had is None or had[1] is None:
                changes[key] = (fresh or (had is not None and had[0]), values)
            else:
                changes[key] = (had[0], _Read({**_recorded(had[1]), **_recorded(values)}))
    return changes


def _recorded(values: bytes | dict) -> dict:
    """A record's recorded values: read from the text of them all, or field by field from its changes (a value
    is read once: a change whose new value is itself an object of changes stays that object)."""
    if type(values) is _Read:
        return values
    if type(values) is bytes:
        return _json(values)
    return {name: _json(change) if type(change) is bytes else recorded_value(change)
            for name, change in values.items()}
