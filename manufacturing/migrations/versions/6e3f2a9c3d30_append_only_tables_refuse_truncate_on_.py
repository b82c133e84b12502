"""append-only tables refuse TRUNCATE on PostgreSQL, and UPDATE and DELETE on SQLite too

Revision ID: 6e3f2a9c3d30
Revises: 4c1d0e7a1b10
Create Date: 2026-12-01 21:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6e3f2a9c3d30'
down_revision = '4c1d0e7a1b10'
branch_labels = None
depends_on = None

# The list as it stands at this revision (the application's own is manufacturing/core/append_only.py).
APPEND_ONLY_TABLES = ("audit_events", "audit_checkpoints", "signatures", "stored_documents", "label_prints",
                      "label_voids")
# Triggers earlier revisions made on PostgreSQL (refuse_change() itself comes from the first one).
EARLIER_TRIGGERS = {"audit_events_append_only", "audit_events_no_truncate", "signatures_append_only",
                    "signatures_no_truncate", "stored_documents_append_only", "label_prints_append_only"}
SQLITE_TRIGGER = ("CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {operation} ON {table} "
                  "BEGIN SELECT RAISE(ABORT, '{operation} on {table} refused: the table is append-only'); END")


def _tables() -> list[str]:
    """The append-only tables this database has. This revision comes after every batch migration of them:
    on SQLite a batch migration copies a table anew, and its triggers with it are lost."""
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    return [table for table in APPEND_ONLY_TABLES if table in existing]


def _postgresql_triggers(table: str) -> dict[str, str]:
    return {f"{table}_append_only": f"BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW",
            f"{table}_no_truncate": f"BEFORE TRUNCATE ON {table} FOR EACH STATEMENT"}


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table in _tables():
        if not postgresql:  # SQLite has no roles: the file's triggers are all that stands in the way
            for operation in ("UPDATE", "DELETE"):
                op.execute(SQLITE_TRIGGER.format(table=table, verb=operation.lower(), operation=operation))
            continue
        for name, when in _postgresql_triggers(table).items():
            if name not in EARLIER_TRIGGERS:
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION refuse_change()")


def downgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for table in _tables():
        if not postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            continue
        for name in _postgresql_triggers(table):
            if name not in EARLIER_TRIGGERS:
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
