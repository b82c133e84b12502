"""The same four bursts through gunicorn with four workers, on a database of the test's own."""

# The app runs as in production (CSRF on, production password hashing); people log in through the login page
# and every form carries its CSRF token. All four bursts run, then every figure is checked.

import html
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPRedirectHandler, build_opener

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import make_url, select

from manufacturing import create_app
from manufacturing.config import Config, TestConfig
from manufacturing.core.checkpoint_keys import generate_key
from manufacturing.core.checkpoints import WARNING_KINDS, AuditCheckpoint, verify_checkpoints
from manufacturing.core.signatures import Meaning
from manufacturing.extensions import db
from tests.concurrency import bursts
from tests.concurrency.bursts import Tally, all_at_once, login_figures, make_people, release_figures, signature_count
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.postgres_only

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
STARTUP_SECONDS = 40
REQUEST_SECONDS = 30
LIGHT_PAGE = "/account/password"  # any page shows the flashed messages; this one costs least
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
BURSTS = {"step": 50, "result": 30, "release": 50, "wrong_password": 40}


@pytest.fixture
def own_database():
    """A new, empty PostgreSQL database, dropped afterwards."""
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs PostgreSQL: set TEST_DATABASE_URL")
    base = make_url(os.environ["TEST_DATABASE_URL"])
    server = base.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    name = f"nk_served_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def checkpoint_place(tmp_path) -> dict:
    """The checkpoint key and directory of this test, shared by the seeding app and the served one."""
    key = tmp_path / "checkpoint_key.pem"
    generate_key(key)
    return {"CHECKPOINT_KEY": str(key), "CHECKPOINT_DIR": str(tmp_path / "checkpoints")}


@pytest.fixture
def floor(own_database, checkpoint_place):
    """The database migrated and seeded through the factories; an app context on it for the checks."""
    application = create_app(type("SeedConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": own_database,
                                                                **checkpoint_place}))
    with application.app_context():
        upgrade()
        lot = bursts.lot_at_release()
        people = {"technicians": make_people("tech.verifier", "TECHNICIAN", 5),
                  "releasers": make_people("qa.releaser", "QA", 5),
                  "target": make_user("tech.target", roles=["TECHNICIAN"]).username}
        db.session.remove()
        yield lot, people
        db.session.remove()
        db.engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A gunicorn master on 127.0.0.1: its address, its log and the file its workers count hash checks in."""

    process: subprocess.Popen | None
    base: str
    log: Path
    checks: Path
    env: dict | None = None

    def run_documents_workers(self, count: int) -> None:
        """`flask documents worker --once` in `count` processes at once, as beside gunicorn in production."""
        command = [sys.executable, "-m", "flask", "--app", "manufacturing", "documents", "worker", "--once"]
        workers = [subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                   for _ in range(count)]
        for worker in workers:
            output, _ = worker.communicate(timeout=STARTUP_SECONDS + REQUEST_SECONDS)
            assert worker.returncode == 0, output.decode(errors="replace")

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail("gunicorn stopped at start:\n" + self.log.read_text(errors="replace")[-3000:])
            try:
                with build_opener().open(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (URLError, OSError):
                time.sleep(0.2)
        pytest.fail("gunicorn did not answer /healthz in time")

    def hash_checks(self) -> int:
        return self.checks.stat().st_size if self.checks.exists() else 0


@pytest.fixture
def server(own_database, tmp_path, checkpoint_place, site_certificate):
    """gunicorn with four workers serving the test's database; its workers boot while the test seeds it."""
    port = _free_port()
    served = Server(None, f"http://127.0.0.1:{port}", tmp_path / "gunicorn.log", tmp_path / "hash-checks")
    env = {**os.environ, "DATABASE_URL": own_database, "SECRET_KEY": secrets.token_hex(32),
           "SESSION_COOKIE_SECURE": "0", "DOCUMENTS_DIR": str(tmp_path / "documents"),
           "HASH_CHECKS_FILE": str(served.checks), "LOGIN_THROTTLE_FIRST_WAIT_SECONDS": "600",
           # The key that sealed the seeded rows and the session's site certificate: a clean clone has no instance/.
           "AUDIT_KEY": TestConfig.AUDIT_KEY, "SIGNING_CERT": site_certificate[0], "SIGNING_KEY": site_certificate[1],
           **checkpoint_place}
    command = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}",
               "--chdir", str(ROOT), "--timeout", str(REQUEST_SECONDS), "--no-control-socket",
               "tests.concurrency.served:app"]
    served.env = env
    with open(served.log, "wb") as log:
        served.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield served
        finally:
            served.process.send_signal(signal.SIGINT)  # gunicorn's quick shutdown
            try:
                served.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                served.process.kill()
                served.process.wait(timeout=10)


class _Stay(HTTPRedirectHandler):
    """Do not follow redirects: the answer to a form is its own status."""

    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """One person's browser: its own cookies, sending the CSRF token of the last page it read."""

    def __init__(self, base: str):
        self.base, self.token, self.username = base, "", ""
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()), _Stay)

    def open(self, path: str, form: dict | None = None) -> tuple[int, str]:
        data = None if form is None else urlencode({**form, "csrf_token": self.token}).encode()
        try:
            with self.opener.open(self.base + path, data=data, timeout=REQUEST_SECONDS) as response:
                status, page = response.status, response.read().decode()
        except HTTPError as error:
            status, page = error.code, error.read().decode(errors="replace")
        found = CSRF.search(page)
        if found:
            self.token = html.unescape(found.group(1))
        return status, page

    def submit(self, path: str, form: dict) -> tuple[int, str]:
        """Post a form; on a redirect, read the message flashed for it on a light page."""
        status, page = self.open(path, form)
        if status in (302, 303):
            page = self.open(LIGHT_PAGE)[1]
        return status, page

    def log_in(self, username: str) -> "Browser":
        self.open("/login")
        status, _ = self.open("/login", {"username": username, "password": PASSWORD})
        assert status == 302, f"{username} could not log in: {status}"
        self.open(LIGHT_PAGE)  # the new session's CSRF token
        self.username = username
        return self


def _browsers(base: str, usernames: list[str], count: int) -> list[Browser]:
    """Log in `count` browsers, taking the accounts in turn."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda n: Browser(base).log_in(usernames[n % len(usernames)]), range(count)))


def _sign_all_at_once(browsers: list[Browser], path: str) -> list[object]:
    def signing(browser: Browser):
        return lambda: browser.submit(path, {"sign_username": browser.username, "sign_password": PASSWORD})

    return all_at_once([signing(browser) for browser in browsers])


def test_the_four_bursts_through_gunicorn_with_four_workers(server, floor):
    lot, people = floor
    assert BURSTS["wrong_password"] > Config.LOGIN_THROTTLE_ACCOUNT_FREE  # the served app reads the same environment
    server.wait_until_ready()
    base = server.base
    technicians = _browsers(base, people["technicians"], BURSTS["step"])
    releasers = _browsers(base, people["releasers"], BURSTS["release"])
    guessers = [Browser(base) for _ in range(BURSTS["wrong_password"])]
    for guesser in guessers:
        guesser.open("/login")
    found = {}

    answers = _sign_all_at_once(technicians, f"/lots/{lot.lot_id}/steps/{lot.step_id}/verify")
    found["step"] = (Tally.of(answers, "Step verified and signed."),
                     {"verified_signatures": signature_count("step", lot.step_id, Meaning.VERIFIED)})
    path = f"/qc/lots/{lot.lot_id}/results/{lot.result_id}/verify"
    answers = _sign_all_at_once(technicians[:BURSTS["result"]], path)
    found["result"] = (Tally.of(answers, "Result verified and signed."),
                       {"verified_signatures": signature_count("qc_result", lot.result_id, Meaning.VERIFIED)})
    answers = _sign_all_at_once(releasers, f"/release/doses/{lot.dose_id}/release")
    server.run_documents_workers(2)  # the release queued its documents; two workers race for the one job
    found["release"] = (Tally.of(answers, "Dose unit released."), release_figures(lot))
    wrong = {"username": people["target"], "password": "Wrong-horse-41"}
    before = server.hash_checks()  # the logins above checked hashes too
    answers = all_at_once([lambda guesser=guesser: guesser.open("/login", wrong) for guesser in guessers])
    during_burst = server.hash_checks() - before
    account = login_figures(people["target"])
    late = Browser(base)  # one more guess, while the account name waits
    late.open("/login")
    late.open("/login", wrong)
    while_waiting = server.hash_checks() - before - during_burst
    found["wrong_password"] = (Tally.of(answers, None), {"hash_checks": during_burst, **account,
                                                         "hash_checks_while_waiting": while_waiting})

    for burst, (tally, figures) in found.items():
        print(f"[gunicorn] {BURSTS[burst]} {burst}: {tally}, {figures}")
    failing = [burst for burst, (tally, figures) in found.items() if not _as_expected(burst, tally, figures)]
    assert not failing, "; ".join(f"{burst}: {found[burst][0]}, {found[burst][1]}" for burst in failing)
    db.session.remove()
    assert "release" in set(db.session.scalars(select(AuditCheckpoint.trigger)))  # taken by a worker
    assert [finding for finding in verify_checkpoints(db.session) if finding.kind not in WARNING_KINDS] == []


def _as_expected(burst: str, tally: Tally, figures: dict) -> bool:
    """One signed record and one accepted answer, the rest refused; the free tries checked and counted, none past.

    The throttle's rows are shared by the four workers: were they not, each worker would check its own free tries.
    """
    if burst == "wrong_password":
        return (tally.refused == BURSTS[burst] and figures["hash_checks_while_waiting"] == 0
                and figures["failed_logins"] == figures["hash_checks"] == Config.LOGIN_THROTTLE_ACCOUNT_FREE)
    return all(count == 1 for count in figures.values()) and tally.only_one_accepted(BURSTS[burst])
