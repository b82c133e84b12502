"""Benchmark: the lot page and the QA review page under load, beside a bare-Flask reference served in the same run.

Both are served by gunicorn with the same settings (four workers, preloaded) on one PostgreSQL database holding
the demo story; wrk drives each target in turn, round after round (interleaved, so that the machine's noise falls
on all of them alike), and the medians of the rounds are compared: requests per second and p95 latency, each
page's beside the reference's. Needs PostgreSQL (TEST_DATABASE_URL) and wrk (`make bench` installs it).
Figures are printed; BENCH_ROUNDS, BENCH_SECONDS and BENCH_CLIENTS change the run.
"""

import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

from manufacturing import create_app
from manufacturing.config import TestConfig
from manufacturing.core import clock
from manufacturing.demo import load_story
from manufacturing.extensions import db
from manufacturing.processing.models import DoseUnit
from tests.concurrency.test_gunicorn import Browser, Server, _free_port
from tests.demo_site import AWAITING_QA, lot_of
from tests.factories import PASSWORD, make_user

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
SECONDS = int(os.environ.get("BENCH_SECONDS", 10))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", 32))
WORKERS = 4
REPORT = """local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) not_ok = 0 end
function response(status, headers, body) if status ~= 200 then not_ok = not_ok + 1 end end
function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  local other = 0
  for _, thread in ipairs(threads) do other = other + thread:get("not_ok") end
  io.write(string.format('\\n{"requests": %d, "seconds": %.3f, "p95_ms": %.1f, "errors": %d, "not_200": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(95) / 1000, errors, other))
end
"""

@pytest.fixture
def demo_floor(own_database, checkpoint_place):
    """The demo story in a PostgreSQL database of this run's own: (lot id, dose id, a QA username, password)."""
    if shutil.which("wrk") is None:
        pytest.skip("needs wrk (make bench installs it)")
    application = create_app(type("SeedConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": own_database,
                                                                **checkpoint_place}))
    with application.app_context():
        upgrade()
        load_story(clock.now().replace(second=0, microsecond=0))
        reader = make_user("bench.qa", roles=["QA"], full_name="Bianca Banco").username  # a password not yet due
        db.session.commit()
        lot_id = lot_of(AWAITING_QA).id
        dose_id = db.session.scalar(select(DoseUnit.id).where(DoseUnit.lot_id == lot_id).order_by(DoseUnit.id))
        db.session.remove()
        db.engine.dispose()
    return lot_id, dose_id, reader, PASSWORD


def _serve(target: str, env: dict, log: Path) -> Server:
    port = _free_port()
    command = [sys.executable, "-m", "gunicorn", "--preload", "--workers", str(WORKERS), "--timeout", "120",
               "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "--no-control-socket", target]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(process, f"http://127.0.0.1:{port}", log, log.with_suffix(".checks"))
    server.wait_until_ready()
    return server


def _stop(server: Server) -> None:
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


def _cookie(browser: Browser) -> str:
    jar = next(handler.cookiejar for handler in browser.opener.handlers if hasattr(handler, "cookiejar"))
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in jar)


def _drive(url: str, cookie: str, script: Path) -> dict:
    """Load one URL with wrk for SECONDS with CLIENTS connections; return its figures."""
    command = ["wrk", "-t", "2", "-c", str(CLIENTS), "-d", f"{SECONDS}s", "--timeout", "30s", "-s", str(script),
               "-H", f"Cookie: {cookie}", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=SECONDS + 60).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    figures["rps"] = figures["requests"] / figures["seconds"]
    return figures


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def test_bench_pages_beside_the_bare_flask_reference(benchmark, demo_floor, own_database, checkpoint_place,
                                                    site_certificate, tmp_path):
    lot_id, dose_id, username, password = demo_floor
    env = {**os.environ, "DATABASE_URL": own_database, "SECRET_KEY": secrets.token_hex(32),
           "SESSION_COOKIE_SECURE": "0", "DOCUMENTS_DIR": str(tmp_path / "documents"),
           "AUDIT_KEY": TestConfig.AUDIT_KEY, "SIGNING_CERT": site_certificate[0],
           "SIGNING_KEY": site_certificate[1], **checkpoint_place}
    script = tmp_path / "report.lua"
    script.write_text(REPORT)
    application = _serve("wsgi:app", env, tmp_path / "application.log")
    reference = _serve("tests.benchmarks.reference_app:app", env, tmp_path / "reference.log")
    try:
        browser = Browser(application.base)
        browser.open("/login")
        status, _ = browser.open("/login", {"username": username, "password": password})
        assert status == 302, "the QA person of the demo could not log in"
        targets = {"reference": (reference.base + "/", ""),
                   "lot page": (f"{application.base}/lots/{lot_id}", _cookie(browser)),
                   "QA review": (f"{application.base}/release/doses/{dose_id}", _cookie(browser))}
        for name, (url, _cookie_header) in targets.items():
            status, page = browser.open(url.removeprefix(application.base)) if name != "reference" else (200, "")
            assert status == 200 and "Log in" not in page, f"the {name} did not answer as a logged-in page"
        runs: dict[str, list[dict]] = {name: [] for name in targets}

        def rounds():
            for _ in range(ROUNDS):
                for name, (url, cookie) in targets.items():
                    runs[name].append(_drive(url, cookie, script))

        benchmark.pedantic(rounds, rounds=1, iterations=1)
    finally:
        _stop(application)
        _stop(reference)
    base_rps, base_p95 = _median(runs["reference"], "rps"), _median(runs["reference"], "p95_ms")
    print(f"\n{CLIENTS} clients, gunicorn {WORKERS} workers (preloaded), PostgreSQL; medians of {ROUNDS} interleaved "
          f"rounds of {SECONDS} s")
    print(f"  reference : {base_rps:8.1f} req/s  p95 {base_p95:8.1f} ms")
    for name in ("lot page", "QA review"):
        rps, p95 = _median(runs[name], "rps"), _median(runs[name], "p95_ms")
        benchmark.extra_info[name] = {"rps": rps, "p95_ms": p95, "rps_ratio": rps / base_rps,
                                      "p95_ratio": p95 / base_p95}
        print(f"  {name:10}: {rps:8.1f} req/s  p95 {p95:8.1f} ms  = {rps / base_rps:6.1%} of the reference's "
              f"requests per second, p95 {p95 / base_p95:5.1f}x the reference's")
    benchmark.extra_info["reference"] = {"rps": base_rps, "p95_ms": base_p95}
    assert all(run["errors"] == 0 and run["not_200"] == 0 for name in runs for run in runs[name]), runs
