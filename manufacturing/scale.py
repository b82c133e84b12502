"""`flask demo scale N`: N more lots made through the operations, as the demo's are, to measure pages at scale.

The lots are told like the demo's (received, separated, cultured, harvested, dosed, each step signed and
verified), spread over the weeks before now and played together in time order, so that the audit trail reads
as the days went. Nine lots in ten are complete or still in culture (by how long ago they started); the tenth
is held on a deviation. The crew are accounts of their own, made for the run.
"""

import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from manufacturing.accounts import operations as accounts
from manufacturing.core import clock
from manufacturing.core.audit import set_actor
from manufacturing.core.cli import cli_actor
from manufacturing.core.permissions import Role
from manufacturing.extensions import db
from manufacturing.lots.din import new_din
from manufacturing.lots.models import Lot
from manufacturing.patients import operations as patients
from manufacturing.patients.guards import SubjectDetails
from manufacturing.patients.models import Sex
from manufacturing.processing import demo as bench
from manufacturing.quality import demo as quality_demo

FACILITY = "G1234"
FIRST_SEQUENCE = 200_000  # DIN sequence numbers of scale lots start here, clear of the demo's
WINDOW = timedelta(days=38)  # lots start over these weeks, ending a day ago (the demo's materials are 45 days old)
CULTURE = timedelta(days=15)  # from receipt to the verified dose preparation of a complete lot
CREW = (("technician", Role.TECHNICIAN), ("verifier", Role.TECHNICIAN), ("qa", Role.QA),
        ("pharmacist", Role.PHARMACY))
EVENTS_A_TRANSACTION = 25  # a site's transaction is one request: a handful of trail rows, not thousands
# Passwords of the run's crew are hashed with the cheapest argon2 cost: they sign tens of thousands of times.
CHEAP_HASH = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1}


@contextmanager
def cheap_hashes() -> Iterator[None]:
    saved = {name: current_app.config[name] for name in CHEAP_HASH}
    current_app.config.update(CHEAP_HASH)
    try:
        yield
    finally:
        current_app.config.update(saved)


def make_crew(run: str) -> tuple[bench.Crew, object]:
    """Accounts of the run's own: two technicians, QA, and the pharmacist who registers the subjects."""
    people, passwords = {}, {}
    cli_actor()
    with cheap_hashes():
        for name, role in CREW:
            username = f"scale.{name}.{run}"
            passwords[username] = f"Bench-{secrets.token_hex(6)}-{secrets.token_hex(6)}"
            user, code = accounts.create_user(username, f"Scale {name.title()} {run.upper()}", [role])
            accounts.set_up_password(username, code, passwords[username])
            cli_actor()
            people[name] = user
    crew = bench.Crew(people["technician"], people["verifier"], people["qa"], passwords)
    return crew, people["pharmacist"]


def _subject(pharmacist, code: str, at: datetime):
    set_actor(db.session, pharmacist.id, pharmacist.username)
    details = SubjectDetails(code, "SC", date(1960, 1, 1), Sex.FEMALE, "Scale site")
    subject = patients.register_subject(pharmacist, details)
    patients.record_body_weight(pharmacist, subject, "70 kg", clock.local_date(at))
    return subject


def lot_story(crew: bench.Crew, pharmacist, number: int, run: str, start: datetime, now: datetime) -> bench.Story:
    """One lot from the subject's registration on, its kind chosen by how long ago it started."""
    lots: list = []  # the demo's stories hand the lot they open on through a list: one of this story's own
    yield start
    subject = _subject(pharmacist, f"SCALE-{run}-{number:06d}".upper(), start)
    din = new_din(FACILITY, clock.to_local(now).year, FIRST_SEQUENCE + number).keyboard
    received_at = start + timedelta(minutes=30)
    if number % 10 == 9:
        yield from quality_demo.lot_on_hold(crew, subject, din, received_at, lots)
        return
    day0 = received_at + timedelta(hours=9)
    if now - start >= CULTURE + timedelta(hours=12):
        yield from bench.complete_lot(crew, subject, din, day0, lots)
    else:
        days_done = max(0, (now - day0 - timedelta(hours=2)) // timedelta(days=1))  # a local day may be 25 h
        yield from bench.lot_in_culture(crew, subject, din, day0, days_done, lots)


def _next_number() -> int:
    """The first lot number of this run: after every lot already stored."""
    return (db.session.scalar(select(func.count()).select_from(Lot)) or 0) + 1


def build_lots(count: int, batch: int, report: Callable[[int, int, float], None]) -> float:
    """Make `count` lots through the operations, telling the progress as `batch` more start or end; return the
    seconds."""
    began, now = time.perf_counter(), clock.now().replace(second=0, microsecond=0)
    run = secrets.token_hex(2)
    with clock.frozen(now - WINDOW - timedelta(days=1, hours=1)):
        crew, pharmacist = make_crew(run)
        db.session.commit()
    first, stories = _next_number(), []
    for index in range(count):
        start = now - timedelta(days=1) - WINDOW + WINDOW * index / count
        stories.append(lot_story(crew, pharmacist, first + index, run, start, now))
    _play(stories, batch, lambda started, ended: report(started, ended, time.perf_counter() - began))
    db.session.commit()
    return time.perf_counter() - began


def _play(stories: list[bench.Story], batch: int, progress: Callable[[int, int], None]) -> None:
    """Play the stories together in time order (as the demo does), committing every `EVENTS_A_TRANSACTION`
    events, and telling the progress each time `batch` more lots have started or ended.

    Short transactions keep the audit chain's head a short row: PostgreSQL cannot prune the versions of a row
    that one open transaction keeps updating, so a transaction of thousands of trail rows (as many as 100 lots
    starting took, once lots were dense) read the head through thousands of versions at each row, and the run
    slowed as lots grew. A commit per event would reload every object the stories hold at each one."""
    seen, counts = set(), {"started": 0, "ended": 0, "events": 0}

    def after_event(index: int, ended: bool) -> None:
        counts["events"] += 1
        if counts["events"] % EVENTS_A_TRANSACTION == 0:
            db.session.commit()
        milestone = False
        if index not in seen:
            seen.add(index)
            counts["started"] += 1
            milestone = counts["started"] % batch == 0
        if ended:
            counts["ended"] += 1
            milestone = milestone or counts["ended"] % batch == 0
        if milestone:
            db.session.commit()
            progress(counts["started"], counts["ended"])

    bench.play(stories, after_event)
