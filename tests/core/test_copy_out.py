"""COPY read straight from libpq: the rows psycopg's own COPY reads, and a connection left ready whatever happens."""

import psycopg
import pytest
from sqlalchemy import text

from manufacturing.core.copy_out import copied_lines

NUMBERS = "COPY (SELECT n, 'row ' || n FROM generate_series(1, {count}) AS n) TO STDOUT"


@pytest.fixture
def dbapi_connection(database):
    connection = database.session.connection()
    if connection.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    return connection.connection.dbapi_connection


def _still_usable(database) -> None:
    assert database.session.execute(text("SELECT 41 + 1")).scalar_one() == 42


def test_the_rows_are_those_psycopg_copies_in_batches_of_the_size_asked(database, dbapi_connection):
    statement = NUMBERS.format(count=10)
    batches = list(copied_lines(dbapi_connection, statement, 4))
    assert [len(batch) for batch in batches] == [4, 4, 2]
    with dbapi_connection.cursor().copy(statement) as copy:
        assert [bytes(line) for batch in batches for line in batch] == [bytes(data) for data in copy]
    _still_usable(database)


def test_an_empty_copy_gives_one_empty_batch(database, dbapi_connection):
    assert list(copied_lines(dbapi_connection, NUMBERS.format(count=0), 4)) == [[]]
    _still_usable(database)


def test_a_copy_stopped_midway_is_read_to_its_end(database, dbapi_connection):
    batches = copied_lines(dbapi_connection, NUMBERS.format(count=50_000), 100)
    assert len(next(batches)) == 100
    batches.close()
    _still_usable(database)


def test_a_statement_the_server_refuses_raises_its_error_and_the_transaction_can_be_rolled_back(
        database, dbapi_connection):
    with pytest.raises(psycopg.errors.UndefinedTable):
        list(copied_lines(dbapi_connection, "COPY (SELECT * FROM no_such_table) TO STDOUT", 10))
    database.session.rollback()
    _still_usable(database)


def test_an_error_midway_through_the_copy_raises_it(database, dbapi_connection):
    failing = "COPY (SELECT 1 / (n - 3000) FROM generate_series(1, 5000) AS n) TO STDOUT"
    with pytest.raises(psycopg.errors.DivisionByZero):
        list(copied_lines(dbapi_connection, failing, 10))
    database.session.rollback()
    _still_usable(database)
