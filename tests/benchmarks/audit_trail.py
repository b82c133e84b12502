"""A long audit trail, fast: the trail as it stands appended again and again, every copy sealed and chained.

Replaying a copy of the whole trail leaves every record as the trail already had it, so the long trail still
agrees with the database and `audit verify` has the full work of an intact trail of that length. Run it on
a site's database (the demo, say) to measure:

    python -m tests.benchmarks.audit_trail 1000000
    time flask --app manufacturing audit verify
"""

import math
import sys
import time
from datetime import timedelta

from sqlalchemy import insert, select, update

from manufacturing.core import clock, seals
from manufacturing.core.audit import AuditChainHead, AuditEvent, sealed_head
from manufacturing.extensions import db

BATCH_ROWS = 20_000
CONTENT = ("occurred_at", "user_id", "username", "action", "entity_type", "entity_id", "scope", "changes", "reason")


def lengthen_trail(rows_wanted: int, pattern_rows: int | None = None) -> int:
    """Append whole copies of the trail (of its first `pattern_rows` rows) until it holds at least `rows_wanted`."""
    table, heads = AuditEvent.__table__, AuditChainHead.__table__
    with db.engine.begin() as connection:
        query = select(*[table.c[name] for name in CONTENT]).order_by(table.c.id).limit(pattern_rows)
        pattern = [dict(row._mapping) for row in connection.execute(query)]
        head = connection.execute(select(heads.c.length, heads.c.last_hash).where(heads.c.id == 1)).one()
        length, previous, started = head.length, head.last_hash, clock.now()
        if pattern:
            rows_wanted = length + math.ceil(max(0, rows_wanted - length) / len(pattern)) * len(pattern)
        while length < rows_wanted:
            batch = []
            for number in range(min(BATCH_ROWS, rows_wanted - length)):
                entry = dict(pattern[(length - head.length + number) % len(pattern)])
                entry["occurred_at"] = started + timedelta(microseconds=length + number)
                entry.update(key_id=seals.keyring().current_id, mac=seals.row_mac(entry), prev_hash=previous)
                entry["hash"] = previous = seals.link_hash(previous, entry["mac"])
                batch.append(entry)
            connection.execute(insert(table), batch)
            length += len(batch)
        connection.execute(update(heads).where(heads.c.id == 1).values(**sealed_head(length, previous)))
    return length


def main(rows_wanted: int) -> None:
    """Lengthen the trail of the site's database (DATABASE_URL, AUDIT_KEY as for `flask`)."""
    from manufacturing import create_app

    with create_app().app_context():
        started = time.perf_counter()
        length = lengthen_trail(rows_wanted)
        print(f"The audit trail holds {length} rows ({time.perf_counter() - started:.1f} s).")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
