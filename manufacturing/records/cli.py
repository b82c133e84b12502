"""`flask records ...` and `flask lots list`: documents and lots from the command line."""

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from manufacturing.core.cli import cli_actor
from manufacturing.core.errors import DomainError
from manufacturing.core.site_certificate import paths
from manufacturing.core.web import settle_refusal
from manufacturing.extensions import db
from manufacturing.lots.models import Lot
from manufacturing.processing.models import DoseUnit
from manufacturing.records import coa, documents, label, site_certificate
from manufacturing.records.verification import verify_file

records_cli = AppGroup("records", help="GMP documents as PDF files.")
lots_cli = AppGroup("lots", help="Lots.")


def _lot(lot_number: str) -> Lot:
    lot = db.session.scalar(select(Lot).where(Lot.lot_number == lot_number.strip().upper()))
    if lot is None:
        raise click.ClickException(f"No lot {lot_number}.")
    return lot


def _dose(reference: str) -> DoseUnit:
    """Find a dose unit by 'LOT/DIVISION' (e.g. NK-2026-0001/A0)."""
    lot_number, _, division = reference.partition("/")
    dose = db.session.scalar(select(DoseUnit).where(DoseUnit.lot_id == _lot(lot_number).id,
                                                    DoseUnit.division_code == division.strip().upper()))
    if dose is None:
        raise click.ClickException(f"No dose unit {reference}: give LOT/DIVISION, e.g. NK-2026-0001/A0.")
    return dose


def _save(content: bytes, output: str) -> None:
    with open(output, "wb") as target:
        target.write(content)
    click.echo(f"Wrote {output} ({len(content)} bytes).")


def _write(operation, *args, output: str) -> None:
    """Run a write (a print, a stored revision) as the audit actor, commit, and save the document."""
    cli_actor()
    try:
        result = operation(*args)
        db.session.commit()
    except DomainError as error:
        settle_refusal(error)
        raise click.ClickException(error.message) from None
    _save(result[0] if isinstance(result, tuple) else result.content, output)


def _read(operation, *args, output: str) -> None:
    """Save a document as it stands, storing nothing."""
    try:
        copy = operation(*args)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    finally:
        db.session.rollback()
    _save(copy.content, output)


@records_cli.command("batch-record")
@click.argument("lot_number")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--store", is_flag=True, help="Store the record as a new revision if it changed since the last one.")
def batch_record(lot_number: str, output: str, store: bool) -> None:
    """Write the executed batch record of a lot: the stored revision if unchanged, else a copy not stored."""
    if store:
        _write(documents.batch_record, _lot(lot_number), None, output=output)
    else:
        _read(documents.batch_record_copy, _lot(lot_number), output=output)


@records_cli.command("coa")
@click.argument("dose")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
def certificate(dose: str, output: str) -> None:
    """Write the certificate of analysis of a released dose unit (LOT/DIVISION); nothing is stored."""
    _read(coa.coa_copy, _dose(dose), output=output)


@records_cli.command("label")
@click.argument("dose")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--reason", default=None, help="Why the label is printed again (required for a reprint).")
def bag_label(dose: str, output: str, reason: str | None) -> None:
    """Print the bag label of a dose unit (LOT/DIVISION); every print is counted."""
    _write(label.print_label, _dose(dose), None, reason, output=output)


@records_cli.command("verify")
@click.argument("file", type=click.File("rb"))
def verify(file) -> None:
    """Check a PDF: the site's signature intact, nothing added after it, and its SHA-256 stored by the system."""
    findings = verify_file(file.read())
    for finding in findings:
        click.echo(("PASS  " if finding.passed else "FAIL  ") + finding.text)
    if not all(finding.passed for finding in findings):
        raise click.ClickException("The file is NOT verified: see FAIL above.")
    click.echo("Verified: a signed document stored by this system, unchanged.")


@records_cli.command("make-site-cert")
@click.option("--common-name", default=None, help="The signer's name in the certificate (default: SITE_NAME).")
@click.option("--days", default=3 * 365, show_default=True, type=click.IntRange(min=1))
def make_site_cert(common_name: str | None, days: int) -> None:
    """Make a self-signed site certificate and key for signing stored documents (demonstration and tests)."""
    certificate, key = paths()
    if certificate.exists() or key.exists():
        raise click.ClickException(f"{certificate} or {key} exists already: documents signed with it are checked "
                                   "against it, so it is not replaced.")
    site_certificate.write(certificate, key, common_name or current_app.config["SITE_NAME"], days,
                           current_app.config["SIGNING_KEY_PASSPHRASE"])
    click.echo(f"Wrote {certificate} and {key} (owner-only) for {days} days.")


@lots_cli.command("list")
def list_lots() -> None:
    """Print one line per lot: lot number, DIN, subject, state."""
    for lot in db.session.scalars(select(Lot).order_by(Lot.lot_number)):
        click.echo(f"{lot.lot_number}\t{lot.din_record.keyboard}\t{lot.subject.subject_code}\t{lot.state.title}")
