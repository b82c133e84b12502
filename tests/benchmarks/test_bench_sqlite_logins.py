"""Benchmark: logins on SQLite with production hashing, and how long another writer waits meanwhile.

Two threads log in over and over (one per core) while a third takes the write lock for a small change every
few milliseconds. Each round measures the password checked inside the write lock (as before) and outside it,
one after the other; the figures are medians over the rounds.
"""

import sqlite3
import statistics
import threading
import time

import pytest

from manufacturing.config import Config
from manufacturing.core import outside_lock
from manufacturing.extensions import db
from tests.factories import PASSWORD, make_user

SECONDS = 3.0
LOGIN_THREADS = 2
WRITER_PAUSE = 0.005


def _logins(app, username: str, stop: threading.Event, counted: list[int]) -> None:
    client = app.test_client()
    while not stop.is_set():
        response = client.post("/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 302
        client.post("/logout")
        counted.append(1)


def _writer(path: str, stop: threading.Event, waits: list[float]) -> None:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    while not stop.is_set():
        started = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("UPDATE users SET full_name = full_name WHERE id = 1")
        connection.execute("COMMIT")
        waits.append(time.perf_counter() - started)
        time.sleep(WRITER_PAUSE)
    connection.close()


def _one_run(app, usernames: list[str], path: str) -> dict[str, float]:
    stop, counted, waits = threading.Event(), [], []
    threads = [threading.Thread(target=_logins, args=(app, name, stop, counted)) for name in usernames]
    threads.append(threading.Thread(target=_writer, args=(path, stop, waits)))
    for thread in threads:
        thread.start()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(60)
    waits.sort()
    return {"logins_per_second": len(counted) / SECONDS, "writes_per_second": len(waits) / SECONDS,
            "writer_p50_ms": 1000 * statistics.median(waits),
            "writer_p99_ms": 1000 * waits[int(0.99 * (len(waits) - 1))]}


@pytest.fixture
def production_hashing(app, monkeypatch):
    for name in ("ARGON2_TIME_COST", "ARGON2_MEMORY_COST", "ARGON2_PARALLELISM"):
        monkeypatch.setitem(app.config, name, getattr(Config, name))


def test_bench_logins_with_the_password_checked_inside_and_outside_the_write_lock(benchmark, app, database,
                                                                                  production_hashing, monkeypatch):
    if database.engine.dialect.name != "sqlite":
        pytest.skip("the write lock of the whole file is SQLite's")
    usernames = [make_user(f"tech.bench{n}").username for n in range(LOGIN_THREADS)]
    path = db.engine.url.database
    db.session.commit()
    figures: dict[str, list[dict]] = {"inside": [], "outside": []}
    checked_outside = outside_lock.run

    def one_round() -> None:
        for where in ("inside", "outside"):
            run = checked_outside if where == "outside" else (lambda session, operation: operation())
            monkeypatch.setattr(outside_lock, "run", run)
            figures[where].append(_one_run(app, usernames, path))

    benchmark.pedantic(one_round, rounds=3, iterations=1)
    medians = {where: {name: statistics.median(run[name] for run in runs) for name in runs[0]}
               for where, runs in figures.items()}
    for where, figure in medians.items():
        print(f"\npassword checked {where} the write lock: " + ", ".join(f"{k} {v:.2f}" for k, v in figure.items()))
    assert medians["outside"]["writer_p50_ms"] < medians["inside"]["writer_p50_ms"]
