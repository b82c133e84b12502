"""Fixtures: the app on SQLite always, and on PostgreSQL too when TEST_DATABASE_URL is set."""

import contextvars
import os
import secrets
from datetime import timedelta

import psycopg
import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import make_url, update

from manufacturing import create_app
from manufacturing.config import TestConfig
from manufacturing.core.audit import GENESIS, AuditChainHead, sealed_head
from manufacturing.extensions import db
from tests.factories import PASSWORD, make_user

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _server_dsn(url) -> str:
    return url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request, tmp_path_factory):
    """A database of this test run's own: a file for SQLite, a new database on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        return
    base = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"nk_test_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(_server_dsn(base), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_server_dsn(base), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own app context and database session, as in production.

    The test's own session is committed first, so that what the test set up is visible to the request
    and SQLite's write lock is free.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url):
    """One application per database, migrated with the project's own migrations."""
    config = type("RunConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url,
                                               "WTF_CSRF_ENABLED": False})
    application = create_app(config)
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()


def clean_database() -> None:
    """Empty every table; on PostgreSQL the append-only triggers are bypassed for the cleaning only."""
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:  # deviations and QC results refer to each other: check the keys at commit
            connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for table in reversed(db.metadata.sorted_tables):
            if table.name != AuditChainHead.__tablename__:
                connection.execute(table.delete())
        connection.execute(update(AuditChainHead.__table__).values(**sealed_head(0, GENESIS)))


@pytest.fixture
def database(app):
    """An app context on a clean database."""
    with app.app_context():
        yield db
        db.session.remove()
        clean_database()


@pytest.fixture
def client(app, database):
    return app.test_client()


@pytest.fixture
def login(client):
    """Log a user in through the login page; returns the user."""

    def log_in(user, password: str = PASSWORD):
        client.post("/logout")  # whoever was logged in on this client leaves first
        response = client.post("/login", data={"username": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        return user

    return log_in


@pytest.fixture
def technician(database):
    return make_user("tech.one", roles=["TECHNICIAN"], full_name="Tina Tecnica")


@pytest.fixture
def verifier(database):
    return make_user("tech.two", roles=["TECHNICIAN"], full_name="Vito Verifica")


@pytest.fixture
def qa_user(database):
    return make_user("qa.one", roles=["QA"], full_name="Quinta Qualita")


@pytest.fixture
def pharmacist(database):
    return make_user("pharm.one", roles=["PHARMACY"], full_name="Piero Farmacia")


@pytest.fixture
def admin(database):
    return make_user("admin.one", roles=["ADMIN"], full_name="Ada Amministra")


@pytest.fixture
def bench(database, technician, verifier, qa_user, pharmacist):
    """A bench ready for work: a subject, released materials and calibrated equipment, twenty days ago."""
    from manufacturing.core import clock
    from tests.processing.factories import set_up_bench

    start = clock.now().replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=20)
    return set_up_bench(technician, verifier, qa_user, pharmacist, start)


@pytest.fixture
def ward(database, technician, verifier, qa_user, pharmacist):
    """A lot with a fresh unit (interim release) and a frozen one (final), labelled, and the order of infusion 1."""
    from tests.dispensing.factories import set_up_ward

    return set_up_ward(technician, verifier, qa_user, pharmacist)
