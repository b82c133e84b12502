"""The runtime role on PostgreSQL: what the application may do, derived from the models and the append-only list.

The owner migrates and owns every table, trigger and function. The runtime role, which the application connects
as, reads and adds rows of the append-only tables, moves the audit chain's head, changes the other tables' rows,
and nothing else: no DDL, no ownership, no membership of the owner.
"""

from psycopg import sql
from sqlalchemy import Connection, MetaData

from manufacturing.core.append_only import is_append_only
from manufacturing.core.audit import AuditChainHead

APPEND_ONLY_PRIVILEGES = ("SELECT", "INSERT")
ROW_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
# The chain's one seeded row is locked and moved forward by every append; it is never added or removed.
NARROWER_PRIVILEGES = {AuditChainHead.__tablename__: ("SELECT", "UPDATE")}
# What a table created by a later migration gives the runtime role until the grants are run again.
DEFAULT_TABLE_PRIVILEGES = APPEND_ONLY_PRIVILEGES


def privileges_of(table_name: str) -> tuple[str, ...]:
    if is_append_only(table_name):
        return APPEND_ONLY_PRIVILEGES
    return NARROWER_PRIVILEGES.get(table_name, ROW_PRIVILEGES)


def table_privileges(metadata: MetaData) -> dict[str, tuple[str, ...]]:
    """The runtime role's privileges on every table of the models."""
    return {table.name: privileges_of(table.name) for table in metadata.sorted_tables}


def _run(connection: Connection, statement: sql.Composable) -> None:
    with connection.connection.cursor() as cursor:
        cursor.execute(statement)


def _value(connection: Connection, query: str, *params):
    with connection.connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def _ensure_role(connection: Connection, role: str, password: str | None) -> None:
    """Create the role if it is missing, able to log in and nothing more; set its password when one is given."""
    role_name = sql.Identifier(role)
    if not _value(connection, "SELECT count(*) FROM pg_roles WHERE rolname = %s", role):
        _run(connection, sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                                 "NOBYPASSRLS").format(role_name))
    if password is not None:
        _run(connection, sql.SQL("ALTER ROLE {} PASSWORD {}").format(role_name, sql.Literal(password)))


def _grant_tables(connection: Connection, schema: sql.Identifier, role: sql.Identifier, metadata: MetaData) -> None:
    """Take every privilege on the schema's tables and sequences back, then grant exactly the runtime's."""
    _run(connection, sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {} FROM {}").format(schema, role))
    _run(connection, sql.SQL("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {} FROM {}").format(schema, role))
    for table, privileges in table_privileges(metadata).items():
        _run(connection, sql.SQL("GRANT {} ON TABLE {}.{} TO {}").format(
            sql.SQL(", ").join(map(sql.SQL, privileges)), schema, sql.Identifier(table), role))
    _run(connection, sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, role))


def _grant_defaults(connection: Connection, schema: sql.Identifier, role: sql.Identifier) -> None:
    """A table a later migration creates is readable and appendable at once; its full grants come from a new run."""
    owner_defaults = sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} ").format(schema)
    _run(connection, owner_defaults + sql.SQL("REVOKE ALL ON TABLES FROM {}").format(role))
    _run(connection, owner_defaults + sql.SQL("GRANT {} ON TABLES TO {}").format(
        sql.SQL(", ").join(map(sql.SQL, DEFAULT_TABLE_PRIVILEGES)), role))
    _run(connection, owner_defaults + sql.SQL("GRANT USAGE ON SEQUENCES TO {}").format(role))


def grant_runtime(connection: Connection, role: str, metadata: MetaData, password: str | None = None) -> None:
    """Create the runtime role if missing and grant it exactly the runtime privileges; run as the owner."""
    if role == _value(connection, "SELECT current_user"):
        raise ValueError(f"The runtime role must not be the owner: {role} is the role running this command.")
    _ensure_role(connection, role, password)
    schema, role_name = sql.Identifier(_value(connection, "SELECT current_schema()")), sql.Identifier(role)
    database = sql.Identifier(_value(connection, "SELECT current_database()"))
    _run(connection, sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC, {}").format(schema, role_name))
    _run(connection, sql.SQL("REVOKE CREATE ON DATABASE {} FROM {}").format(database, role_name))
    # Temporary tables are DDL too: the application never makes one.
    _run(connection, sql.SQL("REVOKE TEMPORARY ON DATABASE {} FROM PUBLIC, {}").format(database, role_name))
    _run(connection, sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(database, role_name))
    _run(connection, sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role_name))
    _grant_tables(connection, schema, role_name, metadata)
    _grant_defaults(connection, schema, role_name)


ROLE_CHECKS = {
    "is a superuser or may create roles or databases, replicate or bypass row security":
        "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls "
        "FROM pg_roles WHERE rolname = %(role)s",
    "is a member of the owner": "SELECT pg_has_role(%(role)s, current_user, 'MEMBER')",
    "may create in the schema": "SELECT has_schema_privilege(%(role)s, current_schema(), 'CREATE')",
    "may create schemas in the database": "SELECT has_database_privilege(%(role)s, current_database(), 'CREATE')",
    "owns tables, sequences or views": "SELECT count(*) > 0 FROM pg_class WHERE relowner = "
                                       "(SELECT oid FROM pg_roles WHERE rolname = %(role)s)",
    "owns functions": "SELECT count(*) > 0 FROM pg_proc WHERE proowner = "
                      "(SELECT oid FROM pg_roles WHERE rolname = %(role)s)",
    "owns schemas": "SELECT count(*) > 0 FROM pg_namespace WHERE nspowner = "
                    "(SELECT oid FROM pg_roles WHERE rolname = %(role)s)",
}


def runtime_problems(connection: Connection, role: str) -> list[str]:
    """What the runtime role may do beyond its grants: each is a reason not to run the application as it."""
    problems = []
    for problem, query in ROLE_CHECKS.items():
        with connection.connection.cursor() as cursor:
            cursor.execute(query, {"role": role})
            if cursor.fetchone()[0]:
                problems.append(f"{role} {problem}")
    return problems
