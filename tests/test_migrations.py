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


def _unkeyed_trail(count: int) -> None:
    """Write rows as they were before the trail was keyed: a plain SHA-256 chain and an unsealed head."""
    from manufacturing.core import clock, seals
    from manufacturing.core.audit import GENESIS, AuditChainHead, AuditEvent

    previous = GENESIS
    with db.engine.begin() as connection:
        for number in range(count):
            row = {"occurred_at": clock.now(), "user_id": None, "username": "system", "action": "auth.login",
                   "entity_type": "user", "entity_id": str(number), "scope": None, "changes": "{}", "reason": None}
            row |= {"prev_hash": previous, "hash": seals.unkeyed_digest(row, previous)}
            connection.execute(AuditEvent.__table__.insert().values(**row))
            previous = row["hash"]
        connection.execute(AuditChainHead.__table__.update().values(length=count, last_hash=previous))


def test_rows_written_before_the_key_verify_after_the_upgrade_and_stay_vouched_for(tmp_path):
    from flask_migrate import upgrade

    from manufacturing import create_app
    from manufacturing.config import TestConfig
    from manufacturing.core.audit import record_event
    from manufacturing.core.audit_verify import ALTERED, verify_chain
    from manufacturing.core.checkpoint_keys import generate_key
    from tests.conftest import past_the_triggers

    generate_key(tmp_path / "checkpoint_key.pem")
    app = create_app(type("Old", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
                                                 "CHECKPOINT_KEY": str(tmp_path / "checkpoint_key.pem"),
                                                 "CHECKPOINT_DIR": str(tmp_path / "checkpoints")}))
    with app.app_context():
        upgrade(revision="3b7e51c0a9d2")
        _unkeyed_trail(3)
        upgrade()
        assert verify_chain(db.session).ok
        record_event(db.session, "auth.login", "user", 9)
        db.session.commit()
        assert verify_chain(db.session).ok
        db.session.rollback()
        with past_the_triggers() as connection:
            connection.exec_driver_sql("UPDATE audit_events SET username = 'someone' WHERE id = 2")
        report = verify_chain(db.session)
        assert [(finding.kind, finding.where) for finding in report.findings] == [(ALTERED, "audit row 2")]
        db.session.remove()
        db.engine.dispose()
