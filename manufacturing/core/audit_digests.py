"""Digests of a table's rows computed by PostgreSQL itself, by blocks of ids: what is unchanged since is known
without reading it.

A row is digested over every column, each written unambiguously (a tag for null; a fixed-width binary form for
numbers and times; the length, then the text, for anything else), so that two different rows never give the
same bytes. A block's digest is the SHA-256 of its rows' SHA-256s in id order: it changes when a row of the
block is changed, removed or added. Only the digests leave the server.
"""

from sqlalchemy import text

FIXED_WIDTH = frozenset({"int2send", "int4send", "int8send", "float4send", "float8send", "boolsend", "date_send",
                         "timestamp_send", "timestamptz_send", "time_send", "uuid_send"})
SETTINGS = ("SET LOCAL DateStyle TO ISO, YMD", "SET LOCAL TimeZone TO UTC", "SET LOCAL IntervalStyle TO postgres",
            "SET LOCAL extra_float_digits TO 1", "SET LOCAL bytea_output TO hex")


def row_bytes(connection, table: str) -> str:
    """The SQL expression of a row's bytes: every column of the table, in order, written unambiguously."""
    columns = connection.execute(text(
        "SELECT a.attname, t.typsend::regproc::text FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"),
        {"table": table}).all()
    return " || ".join(_column_bytes(_quoted(name), send) for name, send in columns)


def _column_bytes(column: str, send: str) -> str:
    if send in FIXED_WIDTH:
        return f"coalesce('\\x00'::bytea || {send}({column}), '\\x01'::bytea)"
    as_text = f"CAST({column} AS text)"
    return f"coalesce('\\x00'::bytea || int4send(octet_length({as_text})) || textsend({as_text}), '\\x01'::bytea)"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def block_digests(connection, table: str, bits: int, spans: list[tuple[int, int]] | None = None
                  ) -> dict[int, tuple[int, str]]:
    """(rows, digest) of each block of `bits` bits of ids that has rows (those within the id spans, when given)."""
    if spans is not None and not spans:
        return {}
    for setting in SETTINGS:
        connection.execute(text(setting))
    within = "" if spans is None else " WHERE " + " OR ".join(
        f"id BETWEEN {int(low)} AND {int(high)}" for low, high in spans)
    digested = f"sha256(string_agg(sha256({row_bytes(connection, table)}), ''::bytea ORDER BY id))"
    statement = (f"SELECT id >> {int(bits)}, count(*), encode({digested}, 'hex') FROM {_quoted(table)}{within} "
                 "GROUP BY 1")
    return {int(block): (int(count), digest) for block, count, digest in connection.execute(text(statement))}


def block_ids(bits: int, block: int) -> tuple[int, int]:
    """The first and last id a block holds."""
    return block << bits, ((block + 1) << bits) - 1


def spans_of(bits: int, blocks) -> list[tuple[int, int]]:
    """The id spans of these blocks, adjacent ones joined."""
    spans: list[list[int]] = []
    for block in sorted(blocks):
        low, high = block_ids(bits, block)
        if spans and spans[-1][1] + 1 == low:
            spans[-1][1] = high
        else:
            spans.append([low, high])
    return [(low, high) for low, high in spans]
