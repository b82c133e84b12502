"""Records and signatures compared in processes of their own: the same findings, as of the verifying snapshot."""

import os
from concurrent.futures.process import BrokenProcessPool

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from manufacturing.accounts.models import User
from manufacturing.core.audit import record_event
from manufacturing.core.audit_apart import Part, can_part, found_in_parts
from manufacturing.core.audit_verify import EDITED, verify_chain
from manufacturing.extensions import db
from tests.core.tampering import change
from tests.factories import make_user


@pytest.fixture
def apart(database):
    """A committed trail with signatures, on a database whose parts can run apart (PostgreSQL)."""
    if not can_part(database.session, 2):
        pytest.skip("parts run apart on PostgreSQL only; elsewhere they run in the verifying transaction")
    for number in range(6):
        make_user(f"tech.{number}", full_name=f"Tecnico {number}")
        record_event(database.session, "lot.released", "lot", number, {"state": {"old": "a", "new": "b"}})
    database.session.commit()
    return database


def test_records_edited_outside_are_found_apart_as_in_one_transaction(apart):
    user = apart.session.query(User).filter_by(username="tech.3").one()
    change("users", user.id, full_name="Someone Else")
    apart.session.rollback()
    together, separate = verify_chain(apart.session), verify_chain(apart.session, workers=2)
    assert EDITED in together.kinds
    assert separate == together


def test_parts_come_back_in_the_order_given_whatever_their_size(apart):
    parts = [Part(rows, lambda session, rows=rows: [rows, session.execute(text("SELECT 1")).scalar_one()])
             for rows in (1, 50, 3, 20)]
    assert found_in_parts(apart.session, parts, 2) == [[1, 1], [50, 1], [3, 1], [20, 1]]


def test_what_is_committed_while_verifying_is_not_seen_by_the_parts(apart, app):
    """A record changed through the application after the verifying snapshot: the parts read it as it was then,
    with the trail as it was then, so no finding (read at their own moment, they would see a record that
    differs from its trail)."""
    session = apart.session
    session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    before = verify_chain(session, workers=2)
    assert before.ok, str(before)
    other = Session(bind=db.engine)
    try:
        user = other.query(User).filter_by(username="tech.4").one()
        user.full_name = "Tecnico Quattro"
        other.commit()
    finally:
        other.close()
    assert verify_chain(session, workers=2) == before
    session.rollback()
    after = verify_chain(session, workers=2)
    assert after.ok and after.rows_checked > before.rows_checked


def test_a_process_that_dies_makes_the_verification_fail_not_hang(apart):
    parts = [Part(2, lambda session: os._exit(1)), Part(1, lambda session: [])]
    with pytest.raises(BrokenProcessPool):
        found_in_parts(apart.session, parts, 2)
