"""Fifty writers at once leave one unbroken chain: appends are serialised on the chain head."""

import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from manufacturing.core import audit
from manufacturing.core.audit import AuditEvent, record_event
from manufacturing.core.audit_verify import verify_chain
from manufacturing.extensions import db

WRITERS = 50


def _write_concurrently(app, writers: int) -> list[Exception]:
    """Start writers together, each in its own session and transaction; return their errors."""
    barrier = threading.Barrier(writers)
    errors: list[Exception] = []

    def writer(number: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                record_event(db.session, "test.concurrent", "test", number, {"n": {"new": number}})
                db.session.commit()
            except Exception as error:
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_fifty_concurrent_writers_leave_an_unforked_chain(app, database):
    database.session.close()
    errors = _write_concurrently(app, WRITERS)
    assert errors == []
    count = database.session.scalar(select(func.count()).select_from(AuditEvent))
    assert count == WRITERS
    hashes = database.session.scalars(select(AuditEvent.prev_hash)).all()
    assert len(set(hashes)) == WRITERS  # no two rows claim the same predecessor: no fork
    report = verify_chain(database.session)
    assert report.ok, str(report)


def test_without_the_head_lock_the_unique_constraint_refuses_a_fork(app, database, monkeypatch):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises every write transaction at BEGIN IMMEDIATE")
    original = audit._lock_head

    def unlocked(connection):
        head = audit.AuditChainHead.__table__
        return connection.execute(select(head.c.last_hash, head.c.length).where(head.c.id == 1)).one()

    monkeypatch.setattr(audit, "_lock_head", unlocked)
    database.session.close()
    errors = _write_concurrently(app, 20)
    monkeypatch.setattr(audit, "_lock_head", original)
    assert errors, "unlocked writers should have collided"
    assert all(isinstance(error, IntegrityError) for error in errors)
    prev_hashes = database.session.scalars(select(AuditEvent.prev_hash)).all()
    assert len(prev_hashes) == len(set(prev_hashes))
