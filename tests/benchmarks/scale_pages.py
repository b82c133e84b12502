"""The list and home pages of a site's database, measured in process: statements and latency of each, per role.

Run it on a demo (`flask demo load`), then again after `flask demo scale N`, and compare: a page that reads a
fixed number of statements and pages its lists keeps both its statements and its p95 as the site grows.

    python -m tests.benchmarks.scale_pages [REQUESTS] > figures.jsonl

Reads DATABASE_URL, AUDIT_KEY and the rest as `flask` does; makes a reader per role for the run
(`scale.reader.*`, at the lowest argon2 cost), and prints one JSON line per page: role, path, statements,
median and p95 ms.
The requests are sequential through Flask's test client (no server, no network): what grows with the data shows.
"""

import json
import secrets
import statistics
import sys
import time
from contextlib import contextmanager

from sqlalchemy import event

from manufacturing import create_app
from manufacturing.accounts import operations as accounts
from manufacturing.core.cli import cli_actor
from manufacturing.core.permissions import Role
from manufacturing.extensions import db
from manufacturing.scale import cheap_hashes

PAGES = {
    Role.TECHNICIAN: ["/", "/lots/", "/lots/?state=IN_CULTURE", "/lots/?subject=SCALE", "/deviations/",
                      "/deviations/?show=all", "/subjects/", "/materials/", "/find?code=NK-2026-0001"],
    Role.QA: ["/", "/release/", "/release/alerts/", "/audit/", "/audit/?user=tech.anna", "/audit/?entity=lot",
              "/audit/?scope=lot:1", "/specs/"],
    Role.PHARMACY: ["/", "/pharmacy/", "/pharmacy/history"],
    Role.ADMIN: ["/", "/admin/users/"],
}


def reader(role: Role, run: str) -> tuple[str, str]:
    """A reader of this role, of this run's own (username, password)."""
    username = f"scale.reader.{role.name.lower()}.{run}"
    password = f"Bench-{secrets.token_hex(8)}-{secrets.token_hex(6)}"
    cli_actor()
    with cheap_hashes():
        _, code = accounts.create_user(username, f"Scale Reader {role.title} {run.upper()}", [role])
        accounts.set_up_password(username, code, password)
    db.session.commit()
    return username, password


@contextmanager
def counted(engine):
    statements: list[str] = []

    def note(connection, cursor, statement, parameters, context, executemany) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def measure(client, engine, path: str, requests: int) -> dict:
    """Statements of one request (after two that warm up), then the latency of `requests` more."""
    for _ in range(2):
        client.get(path)
    with counted(engine) as statements:
        status = client.get(path).status_code
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get(path)
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return {"path": path, "status": status, "statements": len(statements),
            "median_ms": round(statistics.median(seconds) * 1000, 1),
            "p95_ms": round(seconds[max(0, round(0.95 * len(seconds)) - 1)] * 1000, 1)}


def main(requests: int) -> None:
    app = create_app()
    # every request builds its page (what is measured is the reading); the test client posts the login form bare
    app.config.update(PAGE_CACHE_BYTES=0, WTF_CSRF_ENABLED=False)
    run = secrets.token_hex(2)
    with app.app_context():
        readers, engine = {role: reader(role, run) for role in PAGES}, db.engine
    for role, paths in PAGES.items():  # outside any app context: each request has its own, as when served
        client = app.test_client()
        username, password = readers[role]
        answer = client.post("/login", data={"username": username, "password": password})
        if answer.status_code != 302:
            raise SystemExit(f"{username} could not log in ({answer.status_code})")
        for path in paths:
            print(json.dumps({"role": role.name, **measure(client, engine, path, requests)}), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
