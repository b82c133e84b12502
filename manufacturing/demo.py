"""`flask demo load`: demo accounts and data, made through the operations like real work.

The story starts six months ago (accounts, materials) and runs up to now, through six patients of the trial:
one given all five infusions; one off study for toxicity after the third; one whose first lot failed to expand,
cancelled, then a second collection and two infusions; and three in progress: a lot that went through fourteen
culture days to five dose units, whose QC results are in (sterility still incubating), awaiting QA (the fresh unit
may go on an interim certificate, the frozen ones wait for the culture); a lot in culture; a lot on hold with a
deviation. The people change their passwords as the site's password age requires.
Events of the different stories happen in time order, with the clock set to each event's time, so the
audit trail reads as the days went.
"""

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from manufacturing.accounts import operations as accounts
from manufacturing.core import clock
from manufacturing.core.audit import set_actor, set_reason
from manufacturing.core.cli import cli_actor
from manufacturing.core.permissions import Role
from manufacturing.dispensing import demo as dispensing_demo
from manufacturing.extensions import db
from manufacturing.lots.din import new_din
from manufacturing.lots.models import Lot
from manufacturing.materials import demo as materials_demo
from manufacturing.patients import demo as patients_demo
from manufacturing.patients import operations as patients
from manufacturing.patients.models import StopReason
from manufacturing.processing import demo as bench
from manufacturing.processing.demo import Story
from manufacturing.quality import demo as quality_demo
from manufacturing.records import demo as release_demo
from manufacturing.records import jobs
from manufacturing.scale import cheap_hashes

demo_cli = AppGroup("demo", help="Demo data for trying the application.")

DEMO_USERS = [
    ("tech.anna", "Anna Bianchi", [Role.TECHNICIAN]),
    ("tech.marco", "Marco Esposito", [Role.TECHNICIAN]),
    ("qa.giulia", "Giulia Romano", [Role.QA]),
    ("pharm.luca", "Luca Ferrari", [Role.PHARMACY]),
    ("pharm.sara", "Sara Colombo", [Role.PHARMACY]),
    ("admin", "Paolo Ricci", [Role.ADMIN]),
]
SET_UP_DAYS_AGO = 180
PASSWORD_CHANGED_EVERY = timedelta(days=80)  # within the site's password age (90 days)
PREPARED_AFTER_DAY0 = timedelta(days=14, hours=6, minutes=25)  # the dose preparation verified (processing.demo)
DAY0_AT, INFUSION_AT = time(14, 30), time(9, 30)  # local times: culture started after lunch, infusions in the morning
INTERVAL_DAYS = 28  # the study's minimum interval
FACILITY = "G1234"


def demo_password() -> str:
    return f"Demo-{secrets.token_hex(4)}-{secrets.token_hex(4)}"


def create_demo_users() -> dict[str, str]:
    """Create one account per demo person, each setting up a random password with its setup code; return them.

    Only the demo loader plays both sides of the setup code; real accounts get the code from an administrator.
    """
    passwords = {}
    for username, full_name, roles in DEMO_USERS:
        passwords[username] = demo_password()
        _user, code = accounts.create_user(username, full_name, roles)
        accounts.set_up_password(username, code, passwords[username])
        cli_actor()
    return passwords


def run_stories(*stories: Iterator[datetime]) -> None:
    """Play stories together in time order, each event with the clock at its own time."""
    bench.play(list(stories))


def _from(at: datetime, make: Callable[[], Story]) -> Story:
    """A story made at `at`, from the records of the events before it (a subject registered, a lot opened)."""
    yield at
    yield from make()


def _enrolled(pharmacist, subjects: dict, code: str, at: datetime) -> Story:
    yield at
    set_actor(db.session, pharmacist.id, pharmacist.username)
    subjects[code] = patients_demo.register(pharmacist, code)


def _pharmacy(pharmacist, subjects: dict, code: str, at: datetime) -> Story:
    """The subject is weighed and the first infusion ordered the day before dose preparation."""
    yield at
    set_actor(db.session, pharmacist.id, pharmacist.username)
    subject = subjects[code]
    weight = patients.record_body_weight(pharmacist, subject, "64.5 kg", clock.local_date(at))
    patients.record_order(pharmacist, subject, patients.OrderEntry(
        infusion_number=1, dose_level=1, body_weight_id=weight.id, planned_date=clock.local_date(at)
        + timedelta(days=1), prescriber="Dr. Anna Conti", order_reference=f"ORD-{code}-1"))


def _passwords_changed(people, passwords: dict[str, str], at: datetime) -> Story:
    """Every demo person changes their password, as the site's password age requires."""
    yield at
    for person in people:
        new = demo_password()
        set_actor(db.session, person.id, person.username)
        accounts.change_password(person, passwords[person.username], new)
        passwords[person.username] = new


@dataclass
class Treated:
    """A patient's collection made into five units, released, and infused every INTERVAL from `first`."""

    code: str
    din: str
    day0: datetime
    infusions: int
    fold_at_14: float
    reactions: dict[int, str] = field(default_factory=dict)

    @property
    def prepared_at(self) -> datetime:
        return self.day0 + PREPARED_AFTER_DAY0

    def schedule(self) -> list[dispensing_demo.Infusion]:
        """The fresh unit the morning after its preparation (within its 24 hours), then every 28 days."""
        first = clock.local_date(self.prepared_at) + timedelta(days=1)
        return [dispensing_demo.Infusion(_local(first + timedelta(days=INTERVAL_DAYS * number), INFUSION_AT),
                                         reactions=self.reactions.get(number + 1, "none"))
                for number in range(self.infusions)]


def _local(day: date, at: time) -> datetime:
    return clock.local_from_naive(datetime.combine(day, at))


def _day0(start: datetime, days: int) -> datetime:
    return _local(clock.local_date(start) + timedelta(days=days), DAY0_AT)


def _treated(crew, pharmacy, subjects: dict, patient: Treated) -> list[Story]:
    """The stories of one treated patient: the lot, its release, the infusions."""
    lots: list = []
    infusions = patient.schedule()
    return [
        _from(patient.day0 - timedelta(hours=9, minutes=1),
              lambda: bench.complete_lot(crew, subjects[patient.code], patient.din, patient.day0, lots,
                                         patient.fold_at_14)),
        _from(patient.prepared_at, lambda: release_demo.release_story(crew, lots, patient.prepared_at,
                                                                      patient.infusions)),
        _from(infusions[0].at - timedelta(days=1, minutes=1), lambda: dispensing_demo.treatment(
            pharmacy, subjects[patient.code], lots, patient.din, infusions)),
    ]


def _off_study(pharmacy, subjects: dict, code: str, at: datetime) -> Story:
    yield at
    user, password = pharmacy.act(pharmacy.first)
    patients.take_off_study(user, subjects[code], StopReason.TOXICITY, clock.local_date(at) - timedelta(days=3),
                            "Grade 3 cytokine release syndrome after infusion 3 (fever, hypotension), resolved with "
                            "tocilizumab; the investigator stopped the escalation.", password, user.username)


def _history(crew, pharmacy, subjects: dict, now: datetime, dins: dict[str, str]) -> list[Story]:
    """The three patients enrolled first: all five infusions; three then off study for toxicity; a failed
    expansion, a second collection and two infusions so far."""
    start = now - timedelta(days=SET_UP_DAYS_AGO)
    first = Treated("LAL2013-RM-001", dins["A"], _day0(start, 10), 5, 23.4)
    second = Treated("LAL2013-RM-002", dins["B"], _day0(start, 32), 3, 20.6,
                     {3: "Fever 39.2 °C and hypotension two hours after the start: grade 3 cytokine release syndrome, "
                         "treated with tocilizumab."})
    failed_day0 = _day0(start, 57)
    third = Treated("LAL2013-RM-003", dins["C2"], _day0(start, 85), 2, 25.1)
    failed: list = []
    stopped_at = second.schedule()[-1].at + timedelta(days=5)
    return [
        *(_enrolled(pharmacy.first, subjects, patient.code, patient.day0 - timedelta(days=2))
          for patient in (first, second)),
        _enrolled(pharmacy.first, subjects, third.code, failed_day0 - timedelta(days=2)),
        *_treated(crew, pharmacy, subjects, first),
        *_treated(crew, pharmacy, subjects, second),
        _off_study(pharmacy, subjects, second.code, stopped_at),
        _from(failed_day0 - timedelta(hours=9, minutes=1),
              lambda: bench.failed_expansion(crew, subjects[third.code], dins["C1"], failed_day0, failed)),
        *_treated(crew, pharmacy, subjects, third),
    ]


def _in_progress(crew, people, subjects: dict, now: datetime, dins: dict[str, str]) -> list[Story]:
    """The three patients enrolled last: a lot awaiting QA, a lot in culture, a lot on hold."""
    complete_day0 = now - timedelta(days=14, hours=9)
    prepared = complete_day0 + timedelta(days=14, hours=6, minutes=25)
    culture_day0, held_at = now - timedelta(days=6, hours=2), now - timedelta(hours=20)
    luca, lots = people["pharm.luca"], []
    return [
        _enrolled(luca, subjects, "LAL2013-RM-004", complete_day0 - timedelta(days=2)),
        _enrolled(luca, subjects, "LAL2013-RM-005", culture_day0 - timedelta(days=2)),
        _enrolled(luca, subjects, "LAL2013-RM-006", held_at - timedelta(days=2)),
        _from(complete_day0 - timedelta(hours=9, minutes=1), lambda: bench.complete_lot(
            crew, subjects["LAL2013-RM-004"], dins["D"], complete_day0, lots)),
        quality_demo.results_story(crew, lots, prepared + timedelta(minutes=35)),
        _pharmacy(luca, subjects, "LAL2013-RM-004", complete_day0 + timedelta(days=13)),
        _from(culture_day0 - timedelta(hours=9, minutes=1), lambda: bench.lot_in_culture(
            crew, subjects["LAL2013-RM-005"], dins["E"], culture_day0, 5, lots)),
        _from(held_at - timedelta(minutes=1), lambda: quality_demo.lot_on_hold(
            crew, subjects["LAL2013-RM-006"], dins["F"], held_at, lots)),
    ]


def load_story(now: datetime, history: bool = True) -> dict[str, str]:
    """Create everything, from six months ago up to `now`, and commit; return the demo passwords.

    The documents of the story's releases are stored after it, as a worker stores them, in time order.
    Without `history`, only the three patients in progress (a quicker demo of the bench's recent days).
    """
    config = current_app.config
    saved, config["DOCUMENT_JOBS"] = config["DOCUMENT_JOBS"], "worker"
    try:
        with cheap_hashes():  # hundreds of signatures; each printed password is replaced at first login
            passwords = _tell(now, history)
        db.session.commit()
    finally:
        config["DOCUMENT_JOBS"] = saved
    jobs.run_due()
    return passwords


def _tell(now: datetime, history: bool) -> dict[str, str]:
    set_up = now - timedelta(days=SET_UP_DAYS_AGO)
    with clock.frozen(set_up):
        cli_actor()
        passwords = create_demo_users()
        people = {username: accounts.find_user(username) for username, _, _ in DEMO_USERS}
        set_actor(db.session, people["qa.giulia"].id, "qa.giulia")
        materials_demo.load_demo(people["tech.anna"], people["qa.giulia"], passwords["qa.giulia"],
                                 ahead=SET_UP_DAYS_AGO)
        db.session.flush()
        set_reason(db.session, None)
    crew = bench.Crew(people["tech.anna"], people["tech.marco"], people["qa.giulia"], passwords)
    pharmacy = dispensing_demo.Pharmacy(people["pharm.luca"], people["pharm.sara"], passwords)
    subjects: dict = {}
    dins = {key: new_din(FACILITY, clock.to_local(at).year, number).keyboard for key, number, at in (
        ("A", 91, set_up), ("B", 92, set_up), ("C1", 93, set_up), ("C2", 94, set_up), ("D", 101, now),
        ("E", 102, now), ("F", 103, now))}
    run_stories(
        *(_passwords_changed(people.values(), passwords, set_up + PASSWORD_CHANGED_EVERY * number)
          for number in (1, 2)),
        *(_history(crew, pharmacy, subjects, now, dins) if history else ()),
        *_in_progress(crew, people, subjects, now, dins),
    )
    _printed_passwords_must_change(people.values())
    return passwords


def _printed_passwords_must_change(people) -> None:
    """The demo passwords are printed on a console: each person changes theirs before signing anything."""
    cli_actor()
    for person in people:
        person.must_change_password = True
    db.session.flush()


@demo_cli.command("scale")
@click.argument("lots", type=click.IntRange(1, 100_000))
@click.option("--batch", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Tell the progress each time this many more lots have started or ended.")
def scale(lots: int, batch: int) -> None:
    """Add LOTS lots made through the operations over the past weeks (after `demo load`), to measure at scale."""
    from manufacturing.scale import build_lots

    if accounts.find_user(DEMO_USERS[0][0]) is None:
        raise click.ClickException("Load the demo first (flask demo load): the lots use its materials and equipment.")
    seconds = build_lots(lots, batch, lambda started, ended, spent: click.echo(
        f"{started} of {lots} lots started, {ended} told to the end, {spent:.1f} s"))
    click.echo(f"{lots} lots in {seconds:.1f} s ({seconds / lots * 1000:.0f} ms a lot).")


@demo_cli.command("export")
@click.argument("instrument", type=click.Choice(["vi-cell-blu", "nc-200"]))
@click.argument("lot_number")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
def export(instrument: str, lot_number: str, output: str) -> None:
    """Write an INSTRUMENT export of a lot's sample analysed now, to try the import (a sample file, its counts)."""
    from manufacturing.instruments.demo_exports import EXPORTS

    lot = db.session.scalar(select(Lot).where(Lot.lot_number == lot_number.strip().upper()))
    if lot is None:
        raise click.ClickException(f"No lot {lot_number}.")
    write, _ = EXPORTS[instrument]
    sample_id = lot.din if instrument == "nc-200" else lot.lot_number  # NucleoView's IDs hold no "-"
    Path(output).write_bytes(write(sample_id, clock.now()))
    click.echo(f"{output}: sample {sample_id}, analysed now.")


@demo_cli.command("load")
def load() -> None:
    """Load the demo data once; print the demo passwords (to be changed at first login)."""
    if accounts.find_user(DEMO_USERS[0][0]) is not None:
        click.echo("Demo data is already loaded; nothing changed.")
        return
    passwords = load_story(clock.now().replace(second=0, microsecond=0))
    db.session.commit()
    click.echo("Demo accounts (shown once; each password must be changed at first login):")
    for username, full_name, roles in DEMO_USERS:
        role_titles = ", ".join(role.title for role in roles)
        click.echo(f"  {username:<12} {passwords[username]:<24} {full_name} ({role_titles})")
