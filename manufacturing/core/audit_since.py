"""A verification that starts from the last seal: blocks unchanged since stand on what the seal says of them.

The trail is planned by blocks of ids. A block whose digest is the seal's is taken from the seal (its scan's
summary, moved to where it now stands in the chain); every other block, and every block after the seal, is
scanned. Each record table is compared by blocks too: a block of records is compared with the whole trail of
each of its records when its digest changed, when the seal does not know it, or when a scanned block of the
trail changes one of its records. What is compared this way is exactly what a full verification compares.
"""

import queue
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import partial

from flask import current_app
from sqlalchemy import BigInteger, create_engine, false, literal, or_, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from manufacturing.core.audit_apart import can_part, exported_snapshot, import_snapshot
from manufacturing.core.audit_digests import (
    NULL_BLOCK,
    block_digests,
    block_ids,
    catalog_of,
    id_spans,
    numbered,
    one_block,
    row_digest,
)
from manufacturing.core.audit_replay import edited_of, trail_ids
from manufacturing.core.audit_scan import EVERY_BLOCK, Candidate, RangeScan, RangeTask, _replay, merged
from manufacturing.core.audit_seal import Seal, read_seal, rules_digest, write_seal

TRAIL = "audit_events"
FEW_BLOCKS = 64  # up to so many blocks of records, their trail is read id by id by the index
PLAIN_NUMBER = "^(0|[1-9][0-9]{0,17})$"  # as audit_scan.plain_number has it


@dataclass(frozen=True)
class Blocks:
    """The sizes of blocks, in bits of ids: of the trail, and of the record tables."""

    trail: int
    records: int
    from_seal: bool = True  # start from the last seal (else read everything, and seal it)


@dataclass
class TrailPlan:
    """The trail's blocks in order: each either known from the seal (a scan) or to be scanned (a task)."""

    blocks: list[int]
    items: list  # RangeScan | RangeTask, one per block
    digests: dict[int, tuple[int, str]]  # the digests of the blocks the seal knew, as they are now


def plan_blocks(connection, bits: int, seal: Seal | None, wanted: frozenset[int],
                digests: dict[int, tuple[int, str]]) -> TrailPlan:
    """Every block of the trail with rows, in order: the seal's summary where its digest is unchanged."""
    sealed = seal.trail if seal else {}
    counts = {int(block): (int(rows), "") for block, rows in connection.execute(text(
        f"SELECT id >> {int(bits)}, count(*) FROM {TRAIL} WHERE id IS NOT NULL GROUP BY 1"))}
    plan, start = TrailPlan([], [], digests), 0
    for block in sorted(counts):
        rows = counts[block][0]
        summary = sealed.get(block)
        known = summary is not None and digests.get(block) == (summary["count"], summary["digest"])
        scan = rebased(summary, start) if known else None
        if scan is None or not _tells(scan, wanted):
            low, high = block_ids(bits, block)
            scan = RangeTask(low, high, start, wanted)
        plan.blocks.append(block)
        plan.items.append(scan)
        start += rows
    return plan


def _tells(scan: RangeScan, wanted: frozenset[int]) -> bool:
    """The summary has the row at every position a checkpoint signed within the block."""
    return all(position in scan.rows_at for position in wanted
               if scan.start_index < position <= scan.start_index + scan.count)


def summary(scan: RangeScan, digest: str, touched: dict) -> dict:
    """What a seal keeps of one block's scan: not its replay, but which blocks of records its rows change."""
    kept = asdict(scan)
    del kept["replayed"]
    kept["rows_at"] = {str(position): list(row) for position, row in scan.rows_at.items()}
    return {**kept, "digest": digest, "touched": {entity: None if blocks is EVERY_BLOCK else sorted(blocks)
                                                  for entity, blocks in touched.items()}}


def rebased(kept: dict | None, start: int) -> RangeScan | None:
    """A block's scan from its summary, its positions moved by where the block now starts."""
    if kept is None:
        return None
    shift = start - kept["start_index"]
    moved = lambda index: index if index is None or index < 0 else index + shift  # noqa: E731
    candidates = [Candidate(**{**candidate, "index": candidate["index"] + shift,
                               "previous": tuple(candidate["previous"]) if candidate["previous"] else None})
                  for candidate in kept["candidates"]]
    return RangeScan(start, kept["count"], tuple(kept["last"]) if kept["last"] else None,
                     moved(kept["first_keyed"]), moved(kept["last_genuine"]), candidates,
                     [[first + shift, last + shift, first_id, last_id]
                      for first, last, first_id, last_id in kept["unkeyed_runs"]],
                     {int(position) + shift: tuple(row) for position, row in kept["rows_at"].items()})


def joined(*touches: dict) -> dict[str, set | None]:
    """The blocks of records touched by any of these."""
    together: dict[str, set | None] = {}
    for touched in touches:
        for entity, blocks in touched.items():
            had = together.get(entity, set())
            together[entity] = EVERY_BLOCK if blocks is EVERY_BLOCK or had is EVERY_BLOCK else had | set(blocks)
    return together


def open_blocks(now: dict | None, sealed: dict, touched: set | None) -> set | None:
    """The blocks of a table to compare: changed, new or gone since the seal, or touched by the trail since
    (EVERY_BLOCK: the table's ids are not integers in the database, or some are null)."""
    if touched is EVERY_BLOCK or now is None or NULL_BLOCK in now:
        return EVERY_BLOCK
    return {block for block in now.keys() | sealed.keys() if now.get(block) != sealed.get(block)} | touched


def edited_in_blocks(session: Session, cls: type, bits: int, blocks: set | None) -> list[tuple[str, str]]:
    """(where, what) for every record of these blocks that differs from its whole trail, read for it alone."""
    entity, where = cls.audit_entity(), in_blocks(cls, bits, blocks)
    rows = session.execute(*_trail_of(entity, bits, blocks))
    replay = RangeScan(0)
    for action, entity_type, entity_id, changes in rows:
        _replay(replay.replayed, action, entity_type, entity_id, changes)
    trail = merged([replay])
    return edited_of(session, cls, trail, trail_ids(trail), where=where)


def in_blocks(cls: type, bits: int, blocks: set | None):
    """The condition that a record is in one of these blocks, as ranges of ids (none: every record)."""
    if blocks is EVERY_BLOCK:
        return None
    column = cls.__table__.c.id
    return or_(false(), *[column.between(literal(low, BigInteger), literal(high, BigInteger))
                 for low, high in id_spans(bits, blocks)])


def _trail_of(entity: str, bits: int, blocks: set | None) -> tuple:
    """The statement reading the trail of an entity's records in these blocks: by the index, id by id, for a few
    blocks; else every row of the entity, those naming a record of the blocks kept."""
    read = f"SELECT action, entity_type, entity_id, changes FROM {TRAIL} WHERE entity_type = :entity"
    if blocks is EVERY_BLOCK:
        return text(read + " ORDER BY id"), {"entity": entity}
    if len(blocks) <= FEW_BLOCKS:
        ids = [str(number) for block in sorted(blocks) for number in range(*_id_range(bits, block))]
        return text(read + " AND entity_id = ANY(:ids) ORDER BY id"), {"entity": entity, "ids": ids}
    return text(read + f" AND entity_id ~ '{PLAIN_NUMBER}' AND (CAST(entity_id AS bigint) >> {int(bits)}) = "
                "ANY(:blocks) ORDER BY id"), {"entity": entity, "blocks": sorted(blocks)}


def _id_range(bits: int, block: int) -> tuple[int, int]:
    low, high = block_ids(bits, block)
    return max(low, 0), high + 1


def trail_block_jobs(row: str, bits: int, blocks: list[int]) -> list:
    """The digest of each of these blocks of the trail (`row`: its row_digest), as jobs for digests_as_of."""
    return [partial(one_block, table=TRAIL, low=block_ids(bits, block)[0], high=block_ids(bits, block)[1], row=row)
            for block in blocks]


def digests_as_of(session: Session, jobs: list, workers: int) -> list:
    """What each job (a function of a connection) finds, as of this transaction's snapshot: on `workers`
    connections of their own, each taking the next job until none is left, where parts can run apart (the
    server does the work: threads are enough)."""
    if not can_part(session, workers) or len(jobs) < 2:
        connection = session.connection()
        return [job(connection) for job in jobs]
    snapshot, waiting, found = exported_snapshot(session), queue.SimpleQueue(), [None] * len(jobs)
    for number in range(len(jobs)):
        waiting.put(number)
    engine = create_engine(session.get_bind().url, poolclass=NullPool)
    try:
        with ThreadPoolExecutor(workers) as pool:
            for done in [pool.submit(_digests_apart, engine, snapshot, jobs, waiting, found)
                         for _ in range(min(workers, len(jobs)))]:
                done.result()  # an error in a thread is the verification's
    finally:
        engine.dispose()
    return found


def _digests_apart(engine, snapshot: str, jobs: list, waiting: queue.SimpleQueue, found: list) -> None:
    """Take jobs until none is left, on one connection that sees the verifying snapshot."""
    with engine.connect() as connection:
        import_snapshot(connection.connection.dbapi_connection, snapshot)
        try:
            while True:
                try:
                    number = waiting.get_nowait()
                except queue.Empty:
                    return
                found[number] = jobs[number](connection)
        finally:
            connection.rollback()


@dataclass
class Since:
    """One verification's start from the seal: the seal (if it holds), the trail's plan, the tables' digests."""

    seal: Seal | None
    blocks: Blocks
    plan: TrailPlan
    tables: dict[str, dict[int, tuple[int, str]]]
    keys: tuple[str, ...]
    rules: str
    workers: int

    @classmethod
    def start(cls, session: Session, blocks: Blocks, wanted: frozenset[int], workers: int, keys: tuple[str, ...],
              rules: str, classes: list[type]) -> "Since | None":
        """Read the seal and the digests of now; None where the trail's ids are not integers (read everything)."""
        connection, config = session.connection(), current_app.config
        names = [record.__tablename__ for record in classes]
        catalog = catalog_of(connection, [TRAIL, *names])
        if not numbered(catalog.columns(TRAIL)):
            return None
        rules = rules_digest(rules, catalog.schema)
        seal = read_seal(config["CHECKPOINT_DIR"], config["CHECKPOINT_KEY"], frozenset(keys), rules) if (
            blocks.from_seal) else None
        sealed = sorted(seal.trail) if seal else []
        jobs = trail_block_jobs(row_digest(catalog.columns(TRAIL)), blocks.trail, sealed)
        digested = [name for name in names if numbered(catalog.columns(name))]
        jobs += [partial(block_digests, table=name, bits=blocks.records, row=row_digest(catalog.columns(name)))
                 for name in digested]
        found = digests_as_of(session, jobs, workers)
        trail_now = {block: digest for block, digest in zip(sealed, found, strict=False) if digest[0]}
        plan = plan_blocks(connection, blocks.trail, seal, wanted, trail_now)
        tables = dict.fromkeys(names) | dict(zip(digested, found[len(sealed):], strict=True))
        return cls(seal, blocks, plan, tables, keys, rules, workers)

    @property
    def tasks(self) -> list[RangeTask]:
        return [item for item in self.plan.items if isinstance(item, RangeTask)]

    @property
    def rows_known(self) -> int:
        """How many rows of the trail the seal vouches for by their digests (not read)."""
        return sum(item.count for item in self.plan.items if isinstance(item, RangeScan))

    def scans(self, scanned: list[RangeScan]) -> list[RangeScan]:
        """Every block's scan in chain order: the seal's where it holds, the fresh one elsewhere."""
        fresh = iter(scanned)
        return [next(fresh) if isinstance(item, RangeTask) else item for item in self.plan.items]

    def touched(self, scanned: list[RangeScan]) -> dict[str, set | None]:
        """The blocks of records whose trail may have changed since the seal: those the blocks read now change,
        and those the seal says its blocks changed where such a block is read again or gone."""
        sealed = self.seal.trail if self.seal else {}
        known = {block for block, item in zip(self.plan.blocks, self.plan.items, strict=True)
                 if isinstance(item, RangeScan)}
        stored = [{entity: EVERY_BLOCK if blocks is None else set(blocks)
                   for entity, blocks in kept["touched"].items()}
                  for block, kept in sealed.items() if block not in known]
        return joined(*[scan.touched for scan in scanned], *stored)

    def open_blocks(self, cls: type, touched: dict) -> set | None:
        name, entity = cls.__tablename__, cls.audit_entity()
        return open_blocks(self.tables.get(name), self.seal.tables.get(name, {}), touched.get(entity, set()))

    def write(self, session: Session, scans: list[RangeScan], verified_at: str) -> bool:
        """Seal what this verification found intact: the trail's blocks and the tables' blocks as of its snapshot."""
        bits, plan = self.blocks.trail, self.plan
        read = [block for block, item in zip(plan.blocks, plan.items, strict=True) if isinstance(item, RangeTask)]
        jobs = trail_block_jobs(row_digest(catalog_of(session.connection(), [TRAIL]).columns(TRAIL)), bits, read)
        fresh = dict(zip(read, digests_as_of(session, jobs, self.workers), strict=True))
        trail = {block: self._summary(block, item, scan, fresh)
                 for block, item, scan in zip(plan.blocks, plan.items, scans, strict=True)}
        tables = {name: blocks for name, blocks in self.tables.items() if blocks is not None}
        seal = Seal(verified_at, sum(scan.count for scan in scans), self.keys, self.rules, trail, tables)
        config = current_app.config
        return write_seal(config["CHECKPOINT_DIR"], config["CHECKPOINT_KEY"], seal)


    def _summary(self, block: int, item, scan: RangeScan, fresh: dict) -> dict:
        if isinstance(item, RangeTask):
            return summary(scan, fresh[block][1], scan.touched)
        kept = self.seal.trail[block]
        return {**summary(scan, kept["digest"], {}), "touched": kept["touched"]}
