"""The audit trail: automatic rows, explicit events, the hash chain and its check."""

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from manufacturing.accounts import operations
from manufacturing.core.audit import AuditEvent, record_event, set_actor, set_reason
from manufacturing.core.audit_verify import ALTERED, RELINKED, TRUNCATED, verify_chain
from manufacturing.core.permissions import Role
from tests.conftest import owner_engine, past_the_triggers
from tests.factories import make_user


def events(database, **filters):
    query = select(AuditEvent).order_by(AuditEvent.id)
    for column, value in filters.items():
        query = query.where(getattr(AuditEvent, column) == value)
    return database.session.scalars(query).all()


def test_insert_and_update_are_recorded_with_old_and_new_values(database, admin):
    user = make_user("tech.x", full_name="Tecla X")
    set_actor(database.session, admin.id, admin.username)
    set_reason(database.session, "Name misspelt at creation")
    user.full_name = "Tecla Xenia"
    database.session.commit()
    created = events(database, action="user.created", entity_id=str(user.id))[0]
    assert json.loads(created.changes)["full_name"] == {"new": "Tecla X"}
    updated = events(database, action="user.updated", entity_id=str(user.id))[-1]
    assert json.loads(updated.changes)["full_name"] == {"old": "Tecla X", "new": "Tecla Xenia"}
    assert updated.username == admin.username and updated.user_id == admin.id
    assert updated.reason == "Name misspelt at creation"
    assert updated.occurred_at.tzinfo is not None


def test_old_value_is_kept_even_when_the_record_was_expired(database):
    user = make_user("tech.y", full_name="Before Commit")
    database.session.commit()  # expires every loaded attribute
    user.full_name = "After Commit"
    database.session.commit()
    change = json.loads(events(database, action="user.updated")[-1].changes)
    assert change["full_name"] == {"old": "Before Commit", "new": "After Commit"}


def test_password_hash_is_never_written_to_the_trail(database):
    make_user("tech.z")
    assert all("$argon2" not in event.changes for event in events(database))


def test_deleted_record_keeps_its_last_values(database, technician):
    grant = technician.roles[0]
    database.session.delete(grant)
    database.session.commit()
    deleted = events(database, action="user_role.deleted")[0]
    assert json.loads(deleted.changes)["role"] == {"old": "TECHNICIAN"}
    assert deleted.scope == f"user:{technician.id}"


def test_explicit_event_joins_the_chain(database):
    record_event(database.session, "lot.released", "lot", 7, {"state": {"old": "a", "new": "b"}}, scope="lot:7")
    database.session.commit()
    assert events(database, action="lot.released")[0].scope == "lot:7"
    assert verify_chain(database.session).ok


def test_rollback_leaves_no_trail(database):
    make_user("tech.q")
    before = len(events(database))
    set_actor(database.session, None, "test")
    operations.create_user("tech.r", "Rolled Back", [Role.TECHNICIAN])
    database.session.rollback()
    assert len(events(database)) == before
    assert verify_chain(database.session).ok


def _tamper(database, statement: str, **params) -> None:
    """Change the trail behind the application's back, as an intruder with SQL access would."""
    with past_the_triggers() as connection:
        connection.execute(text(statement), params)


@pytest.fixture
def trail(database):
    for number in range(4):
        make_user(f"tech.{number}a")
    rows = events(database)
    assert len(rows) == 4 * 5 and verify_chain(database.session).ok  # user, role, code issued, password set, set up
    database.session.close()
    return rows


def _chain_findings(database) -> list[tuple[str, str]]:
    findings = verify_chain(database.session).findings
    return [(finding.kind, finding.where) for finding in findings if finding.where.startswith(("audit", "chain"))]


def test_edited_row_is_named(database, trail):
    _tamper(database, "UPDATE audit_events SET reason = 'covered up' WHERE id = :id", id=trail[3].id)
    assert _chain_findings(database) == [(ALTERED, f"audit row {trail[3].id}")]


def test_removed_row_is_found(database, trail):
    _tamper(database, "DELETE FROM audit_events WHERE id = :id", id=trail[2].id)
    assert (RELINKED, f"audit row {trail[3].id}") in _chain_findings(database)


def test_removed_last_row_is_found(database, trail):
    _tamper(database, "DELETE FROM audit_events WHERE id = :id", id=trail[-1].id)
    assert _chain_findings(database) == [(TRUNCATED, "chain head")]


def test_swapped_rows_are_found(database, trail):
    first, second = trail[1], trail[2]
    _tamper(database, "UPDATE audit_events SET id = -1 WHERE id = :id", id=first.id)
    _tamper(database, "UPDATE audit_events SET id = :a WHERE id = :b", a=first.id, b=second.id)
    _tamper(database, "UPDATE audit_events SET id = :b WHERE id = -1", b=second.id)
    assert (RELINKED, f"audit row {first.id}") in _chain_findings(database)


def test_cli_verify_exits_non_zero_and_names_the_row(app, database, trail):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    _tamper(database, "UPDATE audit_events SET username = 'someone' WHERE id = :id", id=trail[5].id)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"{ALTERED}: audit row {trail[5].id}:" in result.output


def test_history_is_not_rewritten_even_by_the_owner(database, trail):
    statements = ["UPDATE audit_events SET reason = 'x'", "DELETE FROM audit_events"]
    if owner_engine().dialect.name == "postgresql":
        statements.append("TRUNCATE audit_events")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), owner_engine().begin() as connection:
            connection.execute(text(statement))
    assert verify_chain(database.session).ok


def test_a_bare_value_in_older_rows_reads_as_the_new_value():
    event = AuditEvent(changes=json.dumps({"deviation": "DEV-2026-0001", "state": {"old": "A", "new": "B"}}))
    assert event.change_map == {"deviation": {"new": "DEV-2026-0001"}, "state": {"old": "A", "new": "B"}}
    assert event.change_items == [("deviation", None, "DEV-2026-0001"), ("state", "A", "B")]
