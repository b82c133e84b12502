"""The migrations build the whole schema, and the models agree with them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from manufacturing.extensions import db


def test_migrations_create_every_table(database):
    tables = set(inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_no_pending_autogenerate_diff(database):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_audit_chain_head_is_seeded(database):
    from manufacturing.core.audit import GENESIS, AuditChainHead

    head = database.session.get(AuditChainHead, 1)
    assert head.last_hash == GENESIS and head.length == 0
