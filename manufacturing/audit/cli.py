"""`flask audit verify`: check the sealed audit trail and everything it vouches for."""

import sys

import click
from flask.cli import AppGroup

from manufacturing.core.audit_verify import verify_as_of_now
from manufacturing.extensions import db

audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
@click.option("--whole", is_flag=True, help="Read and check every row again, whatever the last seal says.")
def verify(whole: bool) -> None:
    """Check rows, links, head, signatures, documents, records and checkpoints; exit 1 naming every finding."""
    report = verify_as_of_now(db.session, whole=whole)
    click.echo(str(report))
    if not report.ok:
        sys.exit(1)
