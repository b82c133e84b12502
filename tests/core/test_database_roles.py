"""The runtime role reads and adds history, never rewrites it; append-only tables refuse change on both databases."""

from datetime import UTC, date, datetime
from decimal import Decimal

import psycopg
import pytest
from sqlalchemy import Column, Enum, Integer, MetaData, Table, inspect, text
from sqlalchemy.exc import DBAPIError

from manufacturing.core.append_only import APPEND_ONLY_TABLES, is_append_only
from manufacturing.core.database_roles import (
    APPEND_ONLY_PRIVILEGES,
    ROW_PRIVILEGES,
    runtime_problems,
    table_privileges,
)
from manufacturing.extensions import db
from manufacturing.units import Q_, QuantityType
from tests.conftest import owner_engine

PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
SAMPLE_VALUES = {int: 1, str: "x", bool: False, bytes: b"x", datetime: datetime(2026, 1, 1, tzinfo=UTC),
                 date: date(2026, 1, 1), Decimal: Decimal(1), float: 1.0}


def _append_only_tables():
    return [table for table in db.metadata.sorted_tables if is_append_only(table.name)]


def _postgresql(database) -> None:
    if database.engine.dialect.name != "postgresql":
        pytest.skip("database roles are PostgreSQL's")


def _runtime_role() -> str:
    return db.engine.url.username


def test_grants_come_from_the_models_and_the_one_list():
    granted = table_privileges(db.metadata)
    assert set(granted) == set(db.metadata.tables)
    assert {name for name, privileges in granted.items() if privileges == APPEND_ONLY_PRIVILEGES} == (
        set(APPEND_ONLY_TABLES) & set(db.metadata.tables))
    assert granted["audit_chain_head"] == ("SELECT", "UPDATE")
    assert granted["users"] == granted["auth_sessions"] == ROW_PRIVILEGES


def test_a_new_table_gets_row_privileges_and_a_listed_one_only_read_and_add():
    metadata = MetaData()
    Table("bioreactor_readings", metadata, Column("id", Integer, primary_key=True))
    Table("label_voids", metadata, Column("id", Integer, primary_key=True))
    assert table_privileges(metadata) == {"bioreactor_readings": ROW_PRIVILEGES,
                                          "label_voids": APPEND_ONLY_PRIVILEGES}


def test_every_append_only_table_has_its_triggers(database):
    """A table added to the list, or rebuilt by a batch migration on SQLite, must still refuse change."""
    with owner_engine().connect() as connection:
        if connection.dialect.name == "postgresql":
            rows = connection.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                                           "AND tgenabled = 'O'")).scalars()
            suffixes = ("append_only", "no_truncate")
        else:
            rows = connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
            suffixes = ("no_update", "no_delete")
        triggers = set(rows)
    missing = [f"{table.name}_{suffix}" for table in _append_only_tables() for suffix in suffixes
               if f"{table.name}_{suffix}" not in triggers]
    assert missing == []


def _sample_row(table: Table) -> dict:
    """A value for every column, by type: enough for a row the triggers can be tried on."""
    row = {}
    for column in table.columns:
        if isinstance(column.type, Enum):
            row[column.name] = column.type.enums[0]
        elif isinstance(column.type, QuantityType):
            row[column.name] = Q_(1.0, "percent")
        else:
            row[column.name] = SAMPLE_VALUES[getattr(column.type, "impl_instance", column.type).python_type]
    return row


def _insert_unchecked(connection, table: Table) -> None:
    """Add a sample row whose references point nowhere; the transaction is rolled back, never committed."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL session_replication_role = replica")  # foreign keys are triggers
        connection.execute(table.insert(), _sample_row(table))
        connection.exec_driver_sql("SET LOCAL session_replication_role = origin")
    else:
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        connection.execute(table.insert(), _sample_row(table))


@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_append_only_tables_refuse_update_and_delete_even_for_the_owner(database, statement):
    """SQLite's triggers and PostgreSQL's refuse the change with the same message, whoever asks."""
    tables = _append_only_tables()
    assert len(tables) >= 5
    for table in tables:
        with owner_engine().connect() as connection, connection.begin() as transaction:
            _insert_unchecked(connection, table)
            with pytest.raises(DBAPIError, match=f"on {table.name} refused: the table is append-only"):
                connection.execute(text(statement.format(table=table.name)))
            transaction.rollback()


def test_postgresql_refuses_truncate_of_every_append_only_table_even_for_the_owner(database):
    _postgresql(database)
    for table in _append_only_tables():
        with pytest.raises(DBAPIError, match=f"TRUNCATE on {table.name} refused"), \
                owner_engine().begin() as connection:
            connection.execute(text(f"TRUNCATE {table.name} CASCADE"))


def test_the_application_runs_as_the_runtime_role_with_exactly_its_grants(database):
    _postgresql(database)
    role = _runtime_role()
    assert database.session.scalar(text("SELECT current_user")) == role
    with owner_engine().connect() as connection:
        assert connection.scalar(text("SELECT current_user")) != role
        assert runtime_problems(connection, role) == []
        held = {(table, privilege) for table in db.metadata.tables for privilege in PRIVILEGES
                if connection.scalar(text("SELECT has_table_privilege(:role, :table, :privilege)"),
                                     {"role": role, "table": table, "privilege": privilege})}
    expected = {(table, privilege) for table, privileges in table_privileges(db.metadata).items()
                for privilege in privileges}
    assert held == expected


def _probe_statements(role: str, owner: str) -> list[str]:
    """Every write an intruder with the application's credentials tried, and a few more."""
    statements = ["ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
                  "ALTER TABLE signatures DISABLE TRIGGER USER",
                  "DROP TRIGGER audit_events_append_only ON audit_events",
                  "DROP FUNCTION refuse_change() CASCADE"]
    for table in _append_only_tables():
        statements += [f"TRUNCATE {table.name}", f"UPDATE {table.name} SET id = id", f"DELETE FROM {table.name}"]
    return [*statements, "CREATE TABLE intruder (id integer)", "CREATE TEMPORARY TABLE intruder (id integer)",
            "CREATE SCHEMA intruder",
            "ALTER TABLE users ADD COLUMN intruder text", "ALTER TABLE audit_events OWNER TO CURRENT_USER",
            f'GRANT "{owner}" TO "{role}"', "SET session_replication_role = replica", f'ALTER ROLE "{role}" SUPERUSER']


def _refusals(statements: list[str]) -> list[tuple[str, str]]:
    """Run each statement as the runtime role; return (statement, error) for those refused, or fail."""
    refused = []
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        for statement in statements:
            with pytest.raises(psycopg.Error) as error:
                connection.execute(statement)
            refused.append((statement, str(error.value).splitlines()[0]))
    return refused


def test_the_runtime_role_cannot_rewrite_history_nor_change_the_schema(database):
    _postgresql(database)
    with owner_engine().connect() as connection:
        owner = connection.scalar(text("SELECT current_user"))
    refused = _refusals(_probe_statements(_runtime_role(), owner))
    print("\n".join(f"{statement}  ->  {message}" for statement, message in refused))
    messages = dict(refused)
    assert "must be owner of relation audit_events" in messages["DROP TRIGGER audit_events_append_only ON audit_events"]
    assert "must be owner of function refuse_change" in messages["DROP FUNCTION refuse_change() CASCADE"]
    assert "permission denied for table stored_documents" in messages["TRUNCATE stored_documents"]
    assert "permission denied to set parameter" in messages["SET session_replication_role = replica"]


def test_a_grant_the_runtime_role_gives_itself_gives_nothing(database):
    """PostgreSQL only warns when a role grants what it does not hold: the privilege stays absent."""
    _postgresql(database)
    role = _runtime_role()
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    warnings = []
    with psycopg.connect(url, autocommit=True) as connection:
        connection.add_notice_handler(lambda notice: warnings.append(notice.message_primary))
        connection.execute(f'GRANT UPDATE, DELETE, TRUNCATE ON audit_events, signatures TO "{role}"')
    print(f'GRANT UPDATE, DELETE, TRUNCATE ON audit_events, signatures TO "{role}"  ->  {warnings}')
    assert any("no privileges were granted" in warning for warning in warnings)
    with owner_engine().connect() as connection:
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            assert not connection.scalar(text("SELECT has_table_privilege(:role, 'audit_events', :privilege)"),
                                         {"role": role, "privilege": privilege})


def test_granting_again_changes_nothing_and_the_owner_is_refused_as_runtime(app, database):
    _postgresql(database)
    runner = app.test_cli_runner()
    again = runner.invoke(args=["db", "grant-runtime", "--runtime-role", _runtime_role()])
    assert again.exit_code == 0, again.output
    assert "append-only (read and add only): audit_checkpoints, audit_events" in again.output
    test_the_application_runs_as_the_runtime_role_with_exactly_its_grants(database)
    with owner_engine().connect() as connection:
        owner = connection.scalar(text("SELECT current_user"))
    refused = runner.invoke(args=["db", "grant-runtime", "--runtime-role", owner])
    assert refused.exit_code == 1 and "must not be the owner" in refused.output


def test_a_missing_password_variable_is_refused(app, database):
    result = app.test_cli_runner().invoke(args=["db", "grant-runtime", "--runtime-role", "nk_app",
                                                "--password-from-env", "NK_NO_SUCH_VARIABLE"])
    assert result.exit_code == 1 and "NK_NO_SUCH_VARIABLE holds no password" in result.output


def test_sqlite_has_no_roles_to_grant(app, database):
    if database.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    result = app.test_cli_runner().invoke(args=["db", "grant-runtime", "--runtime-role", "nk_app"])
    assert result.exit_code == 1 and "Database roles are PostgreSQL's" in result.output
    assert inspect(db.engine).get_table_names()  # the file is untouched and still there
