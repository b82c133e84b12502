"""Fixtures: the app on SQLite always, and on PostgreSQL too when TEST_DATABASE_URL is set.

On PostgreSQL the database is migrated by its owner (the server's user in TEST_DATABASE_URL) and the application
connects as a runtime role of this test run's own, granted by `flask db grant-runtime`, as in production.
"""

import contextvars
import os
import secrets
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from flask import current_app, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import make_url, select, update

from manufacturing import create_app
from manufacturing.accounts.models import User
from manufacturing.config import TestConfig
from manufacturing.core import database as engines
from manufacturing.core.audit import GENESIS, AuditChainHead, sealed_head
from manufacturing.core.checkpoint_keys import generate_key
from manufacturing.extensions import db
from tests.factories import PASSWORD, make_user

DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
RUNTIME_PASSWORD_VARIABLE = "NK_TEST_RUNTIME_PASSWORD"


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


def pytest_xdist_make_scheduler(config, log):
    """Under pytest-xdist, every test on one database runs in the same worker (one worker per database).

    A session fixture changes parameter only by being torn down: a worker that alternated between the databases
    would migrate and build its worlds again at every switch. Tests on no database go to whichever is free.
    """
    from xdist.scheduler import LoadScopeScheduling

    class OneWorkerPerDatabase(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            name = nodeid.rsplit("::", 1)[-1]
            ids = name.partition("[")[2].removesuffix("]").split("-")
            return next((database for database in DATABASES if database in ids), nodeid)

    return OneWorkerPerDatabase(config, log)


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own app context and database session, as in production.

    The test's own session is committed first, so that what the test set up is visible to the request
    and SQLite's write lock is free.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


class RuntimeRole:
    """A login role of this test run's own (roles are cluster-wide, and other runs share the server)."""

    def __init__(self, owner_url: str):
        self.owner_url = owner_url
        self.name = f"nk_runtime_{os.getpid()}_{secrets.token_hex(3)}"
        self.password = secrets.token_hex(16)
        self.url = make_url(owner_url).set(username=self.name, password=self.password).render_as_string(
            hide_password=False)

    def grant(self, application) -> None:
        """Create and grant the role through the command production uses, as the owner."""
        result = application.test_cli_runner().invoke(
            args=["db", "grant-runtime", "--runtime-role", self.name, "--password-from-env", RUNTIME_PASSWORD_VARIABLE],
            env={RUNTIME_PASSWORD_VARIABLE: self.password})
        assert result.exit_code == 0, result.output

    def drop(self) -> None:
        owner = make_url(self.owner_url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(owner, autocommit=True) as connection:
            connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                               (self.name,))
            connection.execute(f'DROP OWNED BY "{self.name}"')
            connection.execute(f'DROP ROLE "{self.name}"')


@pytest.fixture(scope="session")
def site_certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed site certificate and key, made once per test session: stored documents are signed with it."""
    from manufacturing.records.site_certificate import write

    folder = tmp_path_factory.mktemp("site-certificate")
    write(folder / "site-certificate.pem", folder / "site-key.pem", TestConfig.SITE_NAME, 30)
    return str(folder / "site-certificate.pem"), str(folder / "site-key.pem")


@pytest.fixture(scope="session")
def app(database_url, site_certificate, tmp_path_factory):
    """One application per database, migrated by the owner, with its own site certificate and checkpoint key."""
    key = tmp_path_factory.mktemp("checkpoint_key") / "checkpoint_key.pem"
    generate_key(key)
    settings = {"SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False, "CHECKPOINT_KEY": str(key),
                "SIGNING_CERT": site_certificate[0], "SIGNING_KEY": site_certificate[1]}
    runtime = RuntimeRole(database_url) if database_url.startswith("postgresql") else None
    if runtime is not None:
        settings.update(SQLALCHEMY_DATABASE_URI=runtime.url, DATABASE_OWNER_URI=database_url)
    application = create_app(type("RunConfig", (TestConfig,), settings))
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade()
        if runtime is not None:
            runtime.grant(application)
    yield application
    with application.app_context():
        db.engine.dispose()
        owner_engine().dispose()
    if runtime is not None:
        runtime.drop()


def owner_engine():
    """The owner's engine (on SQLite, the application's): for cleaning, tampering and the tests' own tables."""
    if "test_owner_engine" not in current_app.extensions:
        current_app.extensions["test_owner_engine"] = engines.owner_engine(current_app)
    return current_app.extensions["test_owner_engine"]


@contextmanager
def past_the_triggers():
    """A transaction as the owner with the append-only triggers out of the way, for cleaning and tampering only.

    PostgreSQL switches them off for the transaction (session_replication_role, a superuser's setting). SQLite
    cannot switch a trigger off: they are dropped and created again from their own text in the same
    transaction, so a failure rolls both back and the schema carries no switch the application could flip.
    """
    with owner_engine().begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            yield connection
            return
        connection.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # deviations and QC results refer to each other
        triggers = connection.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all()
        for name, _ in triggers:
            connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield connection
        for _, definition in triggers:
            connection.exec_driver_sql(definition)


def clean_database() -> None:
    """Empty every table, the append-only triggers bypassed for the cleaning only."""
    with past_the_triggers() as connection:
        for table in reversed(db.metadata.sorted_tables):
            if table.name != AuditChainHead.__tablename__:
                connection.execute(table.delete())
        connection.execute(update(AuditChainHead.__table__).values(**sealed_head(0, GENESIS)))


@pytest.fixture
def database(app, tmp_path):
    """An app context on a clean database and an empty checkpoint directory of this test's own.

    The cleaner empties the tables but leaves checkpoint files alone: deleting them is what `audit verify` must
    catch, so each test gets a fresh directory instead, as a fresh installation would.
    """
    app.config["CHECKPOINT_DIR"] = str(tmp_path / "checkpoints")
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


# The users of the fixtures, in the order a ward or a bench makes them: fixture -> (username, role, full name).
STAFF = {"technician": ("tech.one", "TECHNICIAN", "Tina Tecnica"),
         "verifier": ("tech.two", "TECHNICIAN", "Vito Verifica"),
         "qa_user": ("qa.one", "QA", "Quinta Qualita"),
         "pharmacist": ("pharm.one", "PHARMACY", "Piero Farmacia"),
         "admin": ("admin.one", "ADMIN", "Ada Amministra")}
WORLDS = ("ward", "released_dose", "prepared", "bench")  # fixtures that start a test from a built world, users included
WITH_A_BENCH = ("released_dose", "prepared")  # the worlds whose bench is the test's `bench`


def _make(fixture: str):
    username, role, full_name = STAFF[fixture]
    return make_user(username, roles=[role], full_name=full_name)


def _member(request, fixture: str):
    """The test's user: the world's own when the test starts from a ward or a bench (restored first), else new."""
    world = next((name for name in WORLDS if name in request.fixturenames), None)
    if world is None:
        return _make(fixture)
    request.getfixturevalue(world)
    return db.session.scalar(select(User).filter_by(username=STAFF[fixture][0])) or _make(fixture)


def _bench_staff() -> tuple:
    return tuple(_make(fixture) for fixture in ("technician", "verifier", "qa_user", "pharmacist"))


@pytest.fixture
def technician(database, request):
    return _member(request, "technician")


@pytest.fixture
def verifier(database, request):
    return _member(request, "verifier")


@pytest.fixture
def qa_user(database, request):
    return _member(request, "qa_user")


@pytest.fixture
def pharmacist(database, request):
    return _member(request, "pharmacist")


@pytest.fixture
def admin(database, request):
    return _member(request, "admin")


def _bench_start():
    from manufacturing.core import clock

    return clock.now().replace(hour=8, minute=0, second=0, microsecond=0) - timedelta(days=20)


@pytest.fixture
def bench(database, request):
    """A bench ready for work: a subject, released materials and calibrated equipment, twenty days ago.

    Built by the factories once per database (and ten minutes), restored from its rows for each test;
    the bench of the prepared lot or released dose when the test starts from one.
    """
    from tests.processing.factories import set_up_bench
    from tests.snapshots import built_once

    world = next((name for name in WITH_A_BENCH if name in request.fixturenames), None)
    if world:
        return request.getfixturevalue(world).bench
    start = _bench_start()
    return built_once("bench", start, lambda: set_up_bench(*_bench_staff(), start))


@pytest.fixture
def prepared(database):
    """The bench's lot taken through dose preparation, every step verified (and the bench, as `bench`).

    Built by the factories once per database (and ten minutes), restored from its rows for each test.
    """
    from tests.processing.factories import set_up_prepared_lot
    from tests.snapshots import built_once

    start = _bench_start()
    return built_once("prepared lot", start, lambda: set_up_prepared_lot(*_bench_staff(), start))


@pytest.fixture
def ward(database):
    """A lot with a fresh unit (interim release) and a frozen one (final), labelled, and the order of infusion 1.

    Built by the factories once per database (and ten minutes), restored from its rows for each test.
    """
    from manufacturing.core import clock
    from tests.dispensing.factories import set_up_ward
    from tests.snapshots import built_once

    now = clock.now()
    frozen_at = None if abs(now - datetime.now(UTC)) < timedelta(minutes=1) else now  # a clock left frozen
    return built_once("ward", frozen_at, lambda: set_up_ward(*_bench_staff()))


@pytest.fixture
def released_dose(database):
    """The prepared lot's first unit with every result but sterility in, released by QA an hour later (interim).

    Built by the factories once per database (and ten minutes), restored from its rows for each test.
    """
    from tests.release.factories import set_up_released_dose
    from tests.snapshots import built_once

    start = _bench_start()
    return built_once("released dose", start, lambda: set_up_released_dose(*_bench_staff(), start))


@pytest.fixture
def on_postgresql(database):
    """The database, on PostgreSQL only: SQLite serialises every write transaction, so races show on PostgreSQL."""
    if database.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises every write transaction: races show on PostgreSQL")
    return database
