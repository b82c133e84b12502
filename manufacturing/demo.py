"""`flask demo load`: demo accounts and data, made through the operations like real work.

The story starts six weeks ago (accounts, materials, subjects) and runs up to now: a lot that went
through fourteen culture days to five dose units, whose QC results are in (sterility still incubating),
awaiting QA: the fresh unit may go on an interim certificate, the frozen ones wait for the culture;
a lot in culture; a lot on hold with a deviation.
Events of the different stories happen in time order, with the clock set to each event's time, so the
audit trail reads as the days went.
"""

import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from manufacturing.accounts import operations as accounts
from manufacturing.core import clock
from manufacturing.core.audit import set_actor, set_reason
from manufacturing.core.cli import cli_actor
from manufacturing.core.permissions import Role
from manufacturing.extensions import db
from manufacturing.lots.din import new_din
from manufacturing.lots.models import Lot
from manufacturing.materials import demo as materials_demo
from manufacturing.patients import demo as patients_demo
from manufacturing.patients import operations as patients
from manufacturing.processing import demo as bench
from manufacturing.quality import demo as quality_demo

demo_cli = AppGroup("demo", help="Demo data for trying the application.")

DEMO_USERS = [
    ("tech.anna", "Anna Bianchi", [Role.TECHNICIAN]),
    ("tech.marco", "Marco Esposito", [Role.TECHNICIAN]),
    ("qa.giulia", "Giulia Romano", [Role.QA]),
    ("pharm.luca", "Luca Ferrari", [Role.PHARMACY]),
    ("pharm.sara", "Sara Colombo", [Role.PHARMACY]),
    ("admin", "Paolo Ricci", [Role.ADMIN]),
]
SET_UP_DAYS_AGO = 45
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


def _pharmacy(pharmacist, subject, at: datetime) -> Iterator[datetime]:
    """The subject is weighed and the first infusion ordered the day before dose preparation."""
    yield at
    set_actor(db.session, pharmacist.id, pharmacist.username)
    weight = patients.record_body_weight(pharmacist, subject, "64.5 kg", clock.local_date(at))
    patients.record_order(pharmacist, subject, patients.OrderEntry(
        infusion_number=1, dose_level=1, body_weight_id=weight.id, planned_date=clock.local_date(at)
        + timedelta(days=1), prescriber="Dr. Anna Conti", order_reference="ORD-LAL2013-RM-001-1"))


def load_story(now: datetime) -> dict[str, str]:
    """Create everything, from six weeks ago up to `now`; return the demo passwords."""
    with clock.frozen(now - timedelta(days=SET_UP_DAYS_AGO)):
        cli_actor()
        passwords = create_demo_users()
        people = {username: accounts.find_user(username) for username, _, _ in DEMO_USERS}
        set_actor(db.session, people["qa.giulia"].id, "qa.giulia")
        materials_demo.load_demo(people["tech.anna"], people["qa.giulia"], passwords["qa.giulia"],
                                 ahead=SET_UP_DAYS_AGO)
        db.session.flush()
        set_reason(db.session, None)
        set_actor(db.session, people["pharm.luca"].id, "pharm.luca")
        subjects = patients_demo.load_demo(people["pharm.luca"])
        db.session.flush()
    crew = bench.Crew(people["tech.anna"], people["tech.marco"], people["qa.giulia"], passwords)
    year = clock.to_local(now).year
    dins = [new_din(FACILITY, year, number).keyboard for number in (101, 102, 103)]
    complete_day0 = now - timedelta(days=14, hours=9)
    prepared = complete_day0 + timedelta(days=14, hours=6, minutes=25)
    lots: list = []
    run_stories(
        bench.complete_lot(crew, subjects["LAL2013-RM-001"], dins[0], complete_day0, lots),
        quality_demo.results_story(crew, lots, prepared + timedelta(minutes=35)),
        _pharmacy(people["pharm.luca"], subjects["LAL2013-RM-001"], complete_day0 + timedelta(days=13)),
        bench.lot_in_culture(crew, subjects["LAL2013-RM-002"], dins[1], now - timedelta(days=6, hours=2), 5, lots),
        quality_demo.lot_on_hold(crew, subjects["LAL2013-RM-003"], dins[2], now - timedelta(hours=20), lots),
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
              help="Commit each time this many more lots have started or ended.")
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
