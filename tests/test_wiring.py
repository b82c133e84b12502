"""The database wiring: a PostgreSQL restart costs no request, because pooled connections are pinged first."""

import pytest
from sqlalchemy import text

from manufacturing.extensions import db
from tests.conftest import owner_engine

REQUESTS_AFTER_OUTAGE = 12


def _drop_the_applications_connections() -> int:
    """Terminate every server process of the application's role, as a server restart would."""
    with owner_engine().connect() as connection:
        return len(connection.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :role AND pid <> pg_backend_pid()"),
            {"role": db.engine.url.username}).all())


def test_every_request_after_the_servers_connections_drop_succeeds(app, client, login, qa_user, database):
    if database.engine.dialect.name != "postgresql":
        pytest.skip("a server to restart is PostgreSQL's")
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"]
    login(qa_user)
    assert all(client.get("/").status_code == 200 for _ in range(3))  # the pool holds connections now
    database.session.close()
    assert _drop_the_applications_connections() >= 1
    statuses = [client.get("/").status_code for _ in range(REQUESTS_AFTER_OUTAGE)]
    assert statuses == [200] * REQUESTS_AFTER_OUTAGE
