"""Digests of a table's rows computed by PostgreSQL itself, by blocks of ids: what is unchanged since is known
without reading it.

A row is digested over the text of every column, written unambiguously: first the length of each column whose
text could hold anything (-1 for null), then every column's text, separated by a control character that the
text of a number or a time never holds (null there: nothing, which such a text never is). Two different rows
never give the same text. A block's digest is the SHA-256 of its rows' SHA-256s in id order: it changes when a
row of the block is changed, removed or added. Only the digests leave the server.
"""

from dataclasses import dataclass

from sqlalchemy import text

PLAIN_TYPES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric", "bool", "date", "timestamp",
                         "timestamptz", "time", "uuid", "interval"})  # a text never empty, never the separator
SEPARATOR = "E'\\x1f'"
SETTINGS = (("DateStyle", "ISO, YMD"), ("TimeZone", "UTC"), ("IntervalStyle", "postgres"), ("extra_float_digits", "1"),
            ("work_mem", "64MB"), ("max_parallel_workers_per_gather", "0"))  # one process reads a block, in order
ARGUMENTS = 90  # concat_ws takes at most 100: a wide table's texts are joined in groups
NULL_BLOCK = -(1 << 62)  # the block of rows whose id is null (only a hand could have made them)
INTEGER_TYPES = frozenset({"int2", "int4", "int8"})


@dataclass(frozen=True)
class Catalog:
    """The columns of some tables as the database has them: (table, kind, number, name, declared type, type)."""

    rows: tuple[tuple, ...]

    def columns(self, table: str) -> list[tuple[str, str]]:
        """(name, type) of each of the table's columns, in order: what its rows are digested by."""
        return [(name, kind) for relation, _, _, name, _, kind in self.rows if relation == table]

    @property
    def schema(self) -> list[list]:
        """Each table's kind and columns (number, name, declared type): a seal holds only under the same schema."""
        return [list(row[:5]) for row in self.rows]


def catalog_of(connection, tables: list[str]) -> Catalog:
    """The tables' columns, asked once for all of them."""
    return Catalog(tuple(tuple(row) for row in connection.execute(text(
        "SELECT c.relname, c.relkind, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), t.typname "
        "FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid JOIN pg_type t ON t.oid = a.atttypid "
        "WHERE c.oid = ANY(CAST(:tables AS regclass[])) AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY c.relname, a.attnum"), {"tables": tables})))


def numbered(columns: list[tuple[str, str]]) -> bool:
    """The table's id column is an integer, as the application made it (blocks are ranges of ids)."""
    return dict(columns).get("id") in INTEGER_TYPES


def row_digest(columns: list[tuple[str, str]]) -> str:
    """The SQL expression of a row's digest (of a table of these columns): the SHA-256 of its columns' texts,
    written unambiguously."""
    texts = [(f"CAST({_quoted(name)} AS text)", kind in PLAIN_TYPES) for name, kind in columns]
    lengths = [f"coalesce(octet_length({column}), -1)" for column, plain in texts if not plain]
    values = [f"coalesce({column}, '')" if plain else column for column, plain in texts]
    return f"sha256(textsend({_joined(lengths + values)}))"


def _joined(texts: list[str]) -> str:
    """concat_ws of the texts, in groups of ARGUMENTS (a group is never null: its place is always there)."""
    if len(texts) <= ARGUMENTS:
        return f"concat_ws({SEPARATOR}, {', '.join(texts)})"
    return _joined([_joined(texts[start:start + ARGUMENTS]) for start in range(0, len(texts), ARGUMENTS)])


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _settle(connection) -> None:
    """The settings the texts of rows are written under, for this transaction (one statement: SET LOCAL each)."""
    settings = ", ".join(f"set_config('{name}', '{value}', true)" for name, value in SETTINGS)
    connection.execute(text(f"SELECT {settings}"))


def block_digests(connection, table: str, bits: int, row: str) -> dict[int, tuple[int, str]]:
    """(rows, digest) of each block of `bits` bits of ids that has rows; `row` is the table's row_digest."""
    _settle(connection)
    digested = f"sha256(string_agg({row}, ''::bytea ORDER BY id))"
    statement = (f"SELECT coalesce(id >> {int(bits)}, {NULL_BLOCK}), count(*), encode({digested}, 'hex') "
                 f"FROM {_quoted(table)} GROUP BY 1")
    return {int(block): (int(count), digest) for block, count, digest in connection.execute(text(statement))}


def one_block(connection, table: str, low: int, high: int, row: str) -> tuple[int, str]:
    """(rows, digest) of the rows from id `low` to `high`, read in id order by the index (no sort); `row` is the
    table's row_digest, asked once for all its blocks."""
    _settle(connection)
    rows = (f"SELECT {row} AS digest FROM {_quoted(table)} "
            f"WHERE id BETWEEN {int(low)} AND {int(high)} ORDER BY id")
    count, digest = connection.execute(text(
        f"SELECT count(*), encode(sha256(string_agg(digest, ''::bytea)), 'hex') FROM ({rows}) AS ordered")).one()
    return int(count), digest


def block_ids(bits: int, block: int) -> tuple[int, int]:
    """The first and last id a block holds."""
    return block << bits, ((block + 1) << bits) - 1


def id_spans(bits: int, blocks) -> list[tuple[int, int]]:
    """The ranges of ids these blocks hold, adjacent blocks joined."""
    spans: list[list[int]] = []
    for block in sorted(blocks):
        low, high = block_ids(bits, block)
        if spans and spans[-1][1] + 1 == low:
            spans[-1][1] = high
        else:
            spans.append([low, high])
    return [(low, high) for low, high in spans]
