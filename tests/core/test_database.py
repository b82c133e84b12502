"""SQLite's write lock: taken at BEGIN by what may write, never by a request that only reads."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from manufacturing.accounts import sessions
from manufacturing.core.database import reading, reads_only, writing


@pytest.fixture
def on_sqlite(database):
    if database.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL locks rows, not the database")
    return database


@pytest.mark.parametrize(("method", "reading"), [("GET", True), ("HEAD", True), ("POST", False)])
def test_only_a_reading_request_begins_without_the_write_lock(app, method, reading):
    with app.test_request_context(method=method):
        assert reads_only() is reading


def test_outside_a_request_every_transaction_may_write(app):
    with app.app_context():
        assert not reads_only()


def test_writing_from_a_reading_request_takes_the_write_lock(app, database):
    with app.test_request_context(method="GET"):
        with writing(database.session):
            assert not reads_only()
        assert reads_only()


def test_a_page_read_while_another_transaction_writes_waits_for_no_one(on_sqlite, client, login, technician,
                                                                      monkeypatch):
    login(technician)
    monkeypatch.setattr(sessions, "TOUCH_INTERVAL", timedelta(days=1))  # the idle clock's touch is a write
    on_sqlite.session.commit()
    answers = []
    with on_sqlite.engine.connect() as writer:
        writer.execute(text("SELECT 1"))  # outside a request: BEGIN IMMEDIATE, the write lock held until the end
        started = time.perf_counter()
        reader = threading.Thread(target=lambda: answers.append(client.get("/")))  # a request as a worker serves it
        reader.start()
        reader.join()
        waited = time.perf_counter() - started
        writer.rollback()
    response = answers[0]
    assert response.status_code == 200
    assert waited < 5, waited  # the busy timeout is 30 s: a page that waited for the writer would show it


def test_reading_begins_without_the_write_lock_outside_a_request(app):
    with app.app_context():
        with reading():
            assert reads_only()
        assert not reads_only()


def test_the_command_verifies_while_another_transaction_writes(on_sqlite, app):
    with on_sqlite.engine.connect() as writer:
        writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock held until the end
        started = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["audit", "verify"])
        waited = time.perf_counter() - started
        writer.rollback()
    assert "Audit trail" in result.output, result.output
    assert waited < 10, waited
