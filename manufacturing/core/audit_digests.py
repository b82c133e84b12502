"""Digests of a table's rows computed by PostgreSQL itself, by blocks of ids: what is unchanged since is known
without reading it.

A row is digested over the text of every column, written unambiguously: first the length of each column whose
text could hold anything (-1 for null), then every column's text, separated by a control character that the
text of a number or a time never holds (null there: nothing, which such a text never is). Two different rows
never give the same text. A block's digest is the SHA-256 of its rows' SHA-256s in id order: it changes when a
row of the block is changed, removed or added. Only the digests leave the server.
"""

from sqlalchemy import text

PLAIN_TYPES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "bool", "date", "timestamp",
                         "timestamptz", "time", "uuid", "interval"})  # a text never empty, never the separator
SEPARATOR = "E'\\x1f'"
SETTINGS = ("SET LOCAL DateStyle TO ISO, YMD", "SET LOCAL TimeZone TO UTC", "SET LOCAL IntervalStyle TO postgres",
            "SET LOCAL extra_float_digits TO 1", "SET LOCAL work_mem TO '64MB'")


def row_digest(connection, table: str) -> str:
    """The SQL expression of a row's digest: the SHA-256 of its columns' texts, written unambiguously."""
    columns = connection.execute(text(
        "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE a.attrelid = CAST(:table AS regclass) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"),
        {"table": table}).all()
    texts = [(f"CAST({_quoted(name)} AS text)", kind in PLAIN_TYPES) for name, kind in columns]
    lengths = [f"coalesce(octet_length({column}), -1)" for column, plain in texts if not plain]
    values = [f"coalesce({column}, '')" if plain else column for column, plain in texts]
    return f"sha256(textsend(concat_ws({SEPARATOR}, {', '.join(lengths + values)})))"


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _settle(connection) -> None:
    for setting in SETTINGS:
        connection.execute(text(setting))


def block_digests(connection, table: str, bits: int, spans: list[tuple[int, int]] | None = None
                  ) -> dict[int, tuple[int, str]]:
    """(rows, digest) of each block of `bits` bits of ids that has rows (those within the id spans, when given)."""
    if spans is not None and not spans:
        return {}
    _settle(connection)
    within = "" if spans is None else " WHERE " + " OR ".join(
        f"id BETWEEN {int(low)} AND {int(high)}" for low, high in spans)
    digested = f"sha256(string_agg({row_digest(connection, table)}, ''::bytea ORDER BY id))"
    statement = (f"SELECT id >> {int(bits)}, count(*), encode({digested}, 'hex') FROM {_quoted(table)}{within} "
                 "GROUP BY 1")
    return {int(block): (int(count), digest) for block, count, digest in connection.execute(text(statement))}


def one_block(connection, table: str, low: int, high: int) -> tuple[int, str]:
    """(rows, digest) of the rows from id `low` to `high`, read in id order by the index (no sort)."""
    _settle(connection)
    rows = (f"SELECT {row_digest(connection, table)} AS digest FROM {_quoted(table)} "
            f"WHERE id BETWEEN {int(low)} AND {int(high)} ORDER BY id")
    count, digest = connection.execute(text(
        f"SELECT count(*), encode(sha256(string_agg(digest, ''::bytea)), 'hex') FROM ({rows}) AS ordered")).one()
    return int(count), digest


def block_ids(bits: int, block: int) -> tuple[int, int]:
    """The first and last id a block holds."""
    return block << bits, ((block + 1) << bits) - 1
